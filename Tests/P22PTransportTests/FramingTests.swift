import NIOCore
import NIOEmbedded
import NIOWebSocket
@testable import P22PTransport
import XCTest

/// The frame reader and framer against each other and against NIO's own
/// encoder (an independent implementation of RFC 6455), with every way a
/// frame can be cut into reads.
final class FramingTests: XCTestCase {
    private let sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 70_001]

    private func payload(_ count: Int) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) })
    }

    /// Feeds `bytes` to a parser in pieces cut at `cuts` and returns the
    /// messages it emitted and the error that stopped it.
    private func read(_ bytes: ByteBuffer, as role: WebSocketRole, cuts: [Int] = [], max: Int = 1 << 20) -> ([WebSocketFrame], Error?) {
        var parser = WebSocketFrameParser(role: role, maxMessageSize: max)
        var frames: [WebSocketFrame] = []
        var start = 0
        for end in (cuts + [bytes.readableBytes]).sorted() where end >= start {
            do {
                try parser.parse(bytes.getSlice(at: bytes.readerIndex + start, length: end - start)!, allocator: ByteBufferAllocator()) {
                    frames.append(WebSocketFrame(fin: true, opcode: $0, data: $1))
                }
            } catch {
                return (frames, error)
            }
            start = end
        }
        return (frames, nil)
    }

    func testClientFramesReachTheServerIntactHoweverTheyAreCut() throws {
        let framer = LinkFramer.webSocket(WebSocketFramer(role: .client))
        for size in sizes {
            let framed = framer.message(allocator: ByteBufferAllocator(), capacity: size) { $0.writeImmutableBuffer(payload(size)) }
            XCTAssertNotEqual(framed.getInteger(at: framed.readerIndex + 1, as: UInt8.self)! & 0x80, 0, "masked")
            let headerSize = WebSocketFrameHeader.size(length: size, masked: true)
            for cuts in [[], [1], [headerSize - 1], [headerSize], [headerSize + 1], [headerSize + size / 2], [1, 3, headerSize + 5]] {
                let (frames, error) = read(framed, as: .server, cuts: cuts.filter { $0 <= framed.readableBytes })
                XCTAssertNil(error)
                XCTAssertEqual(frames.map(\.data), [payload(size)], "size \(size), cuts \(cuts)")
                XCTAssertEqual(frames.first?.opcode, .binary)
            }
        }
    }

    func testServerHeaderMatchesNIOsEncoderAndTheClientReadsItWithoutCopying() throws {
        for size in sizes {
            let nio = EmbeddedChannel(handler: WebSocketFrameEncoder())
            try nio.writeOutbound(WebSocketFrame(fin: true, opcode: .binary, data: payload(size)))
            var expected = ByteBuffer()
            while var part = try nio.readOutbound(as: ByteBuffer.self) { expected.writeBuffer(&part) }

            let framer = WebSocketFramer(role: .server)
            var ours = framer.header(payloadLength: size, extraCapacity: 0, allocator: ByteBufferAllocator())
            var body = payload(size)
            ours.writeBuffer(&body)
            XCTAssertEqual(ours, expected, "size \(size)")
            XCTAssertEqual(LinkFramer.webSocket(framer).message(allocator: ByteBufferAllocator(), capacity: size) { $0.writeImmutableBuffer(payload(size)) }, expected)

            let (frames, error) = read(ours, as: .client)
            XCTAssertNil(error)
            XCTAssertEqual(frames.map(\.data), [payload(size)])
        }
    }

    func testFramesMaskedByNIOAreUnmasked() throws {
        let nio = EmbeddedChannel(handler: WebSocketFrameEncoder())
        try nio.writeOutbound(WebSocketFrame(fin: true, opcode: .binary, maskKey: WebSocketMaskingKey([1, 2, 3, 250]), data: payload(70_001)))
        var wire = ByteBuffer()
        while var part = try nio.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&part) }
        let (frames, error) = read(wire, as: .server, cuts: [3, 9000, 9001])
        XCTAssertNil(error)
        XCTAssertEqual(frames.map(\.data), [payload(70_001)])
    }

    func testFragmentsAreJoinedAndControlFramesPassBetweenThem() throws {
        var wire = ByteBuffer()
        for (fin, opcode, text) in [(false, WebSocketOpcode.binary, "one "), (true, .ping, "are you there"), (false, .continuation, "two "), (true, .continuation, "three")] {
            let nio = EmbeddedChannel(handler: WebSocketFrameEncoder())
            try nio.writeOutbound(WebSocketFrame(fin: fin, opcode: opcode, maskKey: .random(), data: ByteBuffer(string: text)))
            while var part = try nio.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&part) }
        }
        let (frames, error) = read(wire, as: .server, cuts: [5, 6, 20])
        XCTAssertNil(error)
        XCTAssertEqual(frames.map(\.opcode), [.ping, .binary])
        XCTAssertEqual(frames.map { String(buffer: $0.data) }, ["are you there", "one two three"])
    }

    func testEveryViolationIsRefusedWithItsCloseCode() throws {
        let cases: [(String, [UInt8], WebSocketRole, WebSocketErrorCode)] = [
            ("unmasked frame to a server", [0x82, 0x01, 0x41], .server, .protocolError),
            ("masked frame to a client", [0x82, 0x81, 1, 2, 3, 4, 0x41], .client, .protocolError),
            ("reserved bit", [0xC2, 0x00], .client, .protocolError),
            ("unknown opcode", [0x83, 0x00], .client, .protocolError),
            ("fragmented ping", [0x09, 0x00], .client, .protocolError),
            ("long ping", [0x89, 0x7E, 0x00, 0x7E] + [UInt8](repeating: 0, count: 126), .client, .protocolError),
            ("continuation first", [0x80, 0x00], .client, .protocolError),
            ("new message inside a fragmented one", [0x02, 0x00, 0x82, 0x00], .client, .protocolError),
            ("too big", [0x82, 0x7F, 0, 0, 0, 0, 0, 0x10, 0, 0], .client, .messageTooLarge),
            ("absurd length", [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], .client, .messageTooLarge),
        ]
        for (name, bytes, role, code) in cases {
            let (frames, error) = read(ByteBuffer(bytes: bytes + [0x82, 0x00]), as: role, max: 65_536)
            XCTAssertEqual((error as? WebSocketFrameError)?.closeCode, code, name)
            XCTAssertTrue(frames.isEmpty, "\(name): nothing after a violation is read")
        }
        var fragments: [UInt8] = [0x02, 0x00]
        for _ in 0..<64 { fragments += [0x00, 0x00] }
        let (_, error) = read(ByteBuffer(bytes: fragments), as: .client)
        XCTAssertEqual((error as? WebSocketFrameError)?.closeCode, .protocolError, "more than 64 fragments")
    }

    func testSecWebSocketAcceptMatchesRFC6455Example() {
        XCTAssertEqual(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
