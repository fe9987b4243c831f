import NIOCore
import NIOWebSocket
@testable import P22PTransport
import XCTest

/// The tcp:// framing: the preamble, and frames read back intact however the
/// bytes are cut, with every bad length refused before anything is allocated.
final class StreamFramingTests: XCTestCase {
    private let sizes = [0, 1, 4, 5, 125, 65_535, 65_536, 66_560]

    private func payload(_ count: Int) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 8) })
    }

    private func read(_ bytes: ByteBuffer, cuts: [Int] = [], max: Int = 66_560) -> ([(WebSocketOpcode, ByteBuffer)], StreamFrameError?) {
        var parser = StreamFrameParser(maxMessageSize: max)
        var messages: [(WebSocketOpcode, ByteBuffer)] = []
        var start = 0
        for end in (cuts + [bytes.readableBytes]).sorted() where end >= start {
            do {
                try parser.parse(bytes.getSlice(at: bytes.readerIndex + start, length: end - start)!, allocator: ByteBufferAllocator()) {
                    messages.append(($0, $1))
                }
            } catch {
                return (messages, error)
            }
            start = end
        }
        return (messages, nil)
    }

    func testMessagesArriveIntactHoweverTheBytesAreCut() {
        let framer = LinkFramer.stream
        for size in sizes {
            let framed = framer.message(allocator: ByteBufferAllocator(), capacity: size) { $0.writeImmutableBuffer(payload(size)) }
            XCTAssertEqual(framed.readableBytes, StreamFraming.headerSize + size)
            XCTAssertEqual(Array(framed.readableBytesView.prefix(5)), [0x02] + withUnsafeBytes(of: UInt32(size).bigEndian, Array.init))
            for cuts in [[], [1], [4], [5], [6], [5 + size / 2], [1, 3, 7]] {
                let (messages, error) = read(framed, cuts: cuts.filter { $0 <= framed.readableBytes })
                XCTAssertNil(error)
                XCTAssertEqual(messages.map(\.1), [payload(size)], "size \(size), cuts \(cuts)")
                XCTAssertEqual(messages.first?.0, .binary)
            }
        }
    }

    /// A run of frames in one read: each goes on as a slice of it, in order;
    /// control frames framed outside `messageBuffer` read the same.
    func testSeveralFramesInOneRead() {
        var wire = ByteBuffer()
        for size in [3, 0, 700] {
            var framed = LinkFramer.stream.message(allocator: ByteBufferAllocator(), capacity: size) { $0.writeImmutableBuffer(payload(size)) }
            wire.writeBuffer(&framed)
        }
        var ping = ByteBuffer(bytes: [1, 2, 3])
        LinkFramer.stream.frame(&ping, opcode: .ping)
        wire.writeBuffer(&ping)
        let (messages, error) = read(wire)
        XCTAssertNil(error)
        XCTAssertEqual(messages.map(\.0), [.binary, .binary, .binary, .ping])
        XCTAssertEqual(messages.map(\.1), [payload(3), payload(0), payload(700), ByteBuffer(bytes: [1, 2, 3])])
    }

    func testTheRelaysHeaderPlusBodyIsOneFrame() {
        var head = LinkFramer.stream.header(payloadLength: 1000, extraCapacity: 3, allocator: ByteBufferAllocator())
        head.writeBytes([9, 9, 9])
        var body = payload(997)
        head.writeBuffer(&body)
        let (messages, error) = read(head)
        XCTAssertNil(error)
        XCTAssertEqual(messages.first?.1.readableBytes, 1000)
    }

    /// Lengths are judged from the header alone: a frame claiming 4 GiB is
    /// refused after 5 bytes, without waiting for (or allocating) its body.
    func testBadFramesAreRefusedFromTheHeader() {
        let cases: [([UInt8], StreamFrameError)] = [
            ([0x02, 0xFF, 0xFF, 0xFF, 0xFF], .tooBig(length: 0xFFFF_FFFF, limit: 66_560)),
            ([0x02, 0x00, 0x01, 0x04, 0x01], .tooBig(length: 66_561, limit: 66_560)),
            ([0x09, 0x00, 0x00, 0x00, 126], .controlTooBig(length: 126)),
            ([0x01, 0x00, 0x00, 0x00, 0x01], .unknownKind(1)),
            ([0x00, 0x00, 0x00, 0x00, 0x01], .unknownKind(0)),
            ([0x0B, 0x00, 0x00, 0x00, 0x00], .unknownKind(11)),
            ([0x47, 0x45, 0x54, 0x20, 0x2F], .unknownKind(0x47)),  // "GET /": a WebSocket client on the wrong port
        ]
        for (bytes, expected) in cases {
            let (messages, error) = read(ByteBuffer(bytes: bytes))
            XCTAssertEqual(error, expected, "\(bytes)")
            XCTAssertTrue(messages.isEmpty)
        }
        XCTAssertEqual(StreamFrameError.tooBig(length: 2, limit: 1).closeCode, .messageTooLarge)
        XCTAssertEqual(StreamFrameError.unknownKind(1).closeCode, .protocolError)
    }

    func testPreamble() {
        let preamble = StreamFraming.preamble(routingKey: "0123456789abcdef")
        XCTAssertEqual(preamble.count, StreamFraming.preambleSize)
        XCTAssertEqual(String(decoding: preamble, as: UTF8.self), "p22p.v1 0123456789abcdef\n")
        XCTAssertEqual(StreamFraming.parsePreamble(ByteBuffer(bytes: preamble + [0x02])), .routingKey("0123456789abcdef"))
        for cut in 0..<preamble.count {
            XCTAssertEqual(StreamFraming.parsePreamble(ByteBuffer(bytes: preamble.prefix(cut))), .needMoreData, "cut at \(cut)")
        }
        // Judged at the first wrong byte, not after 25.
        XCTAssertEqual(StreamFraming.parsePreamble(ByteBuffer(string: "GET")), .invalid)
        XCTAssertEqual(StreamFraming.parsePreamble(ByteBuffer(string: "p22p.v1 0123456789ABCDEF\n")), .invalid)
        XCTAssertEqual(StreamFraming.parsePreamble(ByteBuffer(string: "p22p.v1 0123456789abcdef ")), .invalid)
        XCTAssertEqual(StreamFraming.parsePreamble(ByteBuffer(string: "p22p.v2 ")), .invalid)
    }
}
