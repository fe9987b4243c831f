import NIOCore
import NIOEmbedded
import NIOWebSocket
@testable import P22PTransport
import XCTest

/// What a peer can make the link layer hold or pass on, on a WebSocket and
/// on a tcp:// stream link alike.
final class MessageHandlerTests: XCTestCase {
    private static let wires: [(server: LinkWire, client: LinkFramer, headerSize: Int)] = [
        (.webSocket(.server), .webSocket(WebSocketFramer(role: .client)), 2),
        (.stream, .stream, StreamFraming.headerSize),
    ]

    private func clientFrame(_ opcode: WebSocketOpcode, _ text: String = "", framer: LinkFramer) -> ByteBuffer {
        var buffer = framer.messageBuffer(allocator: ByteBufferAllocator(), capacity: text.utf8.count)
        buffer.writeString(text)
        framer.frame(&buffer, opcode: opcode)
        return buffer
    }

    private func serverSide(_ wire: LinkWire, maxMessageSize: Int = 1 << 16) throws -> (EmbeddedChannel, WriteHoarder) {
        let hoarder = WriteHoarder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            hoarder, LinkMessageHandler(wire: wire, keepalive: .standard, maxMessageSize: maxMessageSize),
        ])
        return (channel, hoarder)
    }

    /// A peer that floods pings and never reads gets one pong queued, not one per ping.
    func testPingFloodQueuesOnePongAtATime() throws {
        for (wire, framer, headerSize) in Self.wires {
            let (channel, hoarder) = try serverSide(wire)
            var flood = ByteBuffer()
            for _ in 0..<1000 { var ping = clientFrame(.ping, "x", framer: framer); flood.writeBuffer(&ping) }
            try channel.writeInbound(flood)
            XCTAssertEqual(hoarder.held.count, 1, "\(wire)")
            hoarder.held.removeFirst().promise?.succeed(())
            try channel.writeInbound(clientFrame(.ping, "y", framer: framer))
            XCTAssertEqual(hoarder.held.count, 1, "a new pong once the last one left (\(wire))")
            XCTAssertEqual(hoarder.held.first?.data.getInteger(at: 0, as: UInt8.self).map { $0 & 0x0F }, 0x0A, "a pong (\(wire))")
            XCTAssertEqual(hoarder.held.first?.data.getBytes(at: headerSize, length: 1), Array("y".utf8), "\(wire)")
            _ = try? channel.finish()
        }
    }

    /// A message over the limit is refused from its header with close code
    /// 1009 and the reason, before its body arrives.
    func testOversizeMessageIsRefusedWithItsCloseCode() throws {
        for (wire, framer, headerSize) in Self.wires {
            let (channel, hoarder) = try serverSide(wire, maxMessageSize: 100)
            let frame = clientFrame(.binary, String(repeating: "z", count: 101), framer: framer)
            XCTAssertThrowsError(try channel.writeInbound(frame.getSlice(at: frame.readerIndex, length: headerSize + 4)!), "\(wire)")
            XCTAssertEqual(hoarder.held.count, 1, "our close frame went out (\(wire))")
            let close = try XCTUnwrap(hoarder.held.first?.data)
            XCTAssertEqual(close.getInteger(at: 0, as: UInt8.self).map { $0 & 0x0F }, 0x08, "\(wire)")
            XCTAssertEqual(close.getInteger(at: headerSize, as: UInt16.self), 1009, "\(wire)")
            XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
            _ = try? channel.finish()
        }
    }

    /// Nothing is passed up after the peer's close, nor written after ours.
    func testNothingCrossesAClose() throws {
        for (wire, framer, _) in Self.wires {
            try nothingCrossesAClose(wire, framer: framer)
        }
    }

    private func nothingCrossesAClose(_ wire: LinkWire, framer: LinkFramer) throws {
        let (channel, hoarder) = try serverSide(wire)
        var read = clientFrame(.binary, "before", framer: framer)
        var close = clientFrame(.connectionClose, "", framer: framer)
        var after = clientFrame(.binary, "after", framer: framer)
        read.writeBuffer(&close)
        read.writeBuffer(&after)
        XCTAssertThrowsError(try channel.writeInbound(read)) { error in
            XCTAssertEqual(error as? TransportError, .closedByPeer(code: nil, reason: ""))
        }
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) }, "before")
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
        XCTAssertEqual(hoarder.held.count, 1, "our close frame went out")
        let late = channel.write(ByteBuffer(string: "late"))
        XCTAssertThrowsError(try late.wait())
        XCTAssertEqual(hoarder.held.count, 1)
        _ = try? channel.finish()
    }
}

/// Takes every write and keeps it, as a socket whose peer reads nothing would.
private final class WriteHoarder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var held: [(data: ByteBuffer, promise: EventLoopPromise<Void>?)] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        held.append((unwrapOutboundIn(data), promise))
    }
}
