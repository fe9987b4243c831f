import NIOCore
import NIOEmbedded
import NIOWebSocket
@testable import P22PTransport
import XCTest

/// What a peer can make the WebSocket layer hold or pass on.
final class MessageHandlerTests: XCTestCase {
    private func clientFrame(_ opcode: WebSocketOpcode, _ text: String = "") -> ByteBuffer {
        var buffer = WebSocketFramer(role: .client).messageBuffer(allocator: ByteBufferAllocator(), capacity: text.utf8.count)
        buffer.writeString(text)
        WebSocketFramer(role: .client).frame(&buffer, opcode: opcode)
        return buffer
    }

    private func serverSide() throws -> (EmbeddedChannel, WriteHoarder) {
        let hoarder = WriteHoarder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            hoarder, LinkMessageHandler(wire: .webSocket(.server), keepalive: .standard, maxMessageSize: 1 << 16),
        ])
        return (channel, hoarder)
    }

    /// A peer that floods pings and never reads gets one pong queued, not one per ping.
    func testPingFloodQueuesOnePongAtATime() throws {
        let (channel, hoarder) = try serverSide()
        var flood = ByteBuffer()
        for _ in 0..<1000 { var ping = clientFrame(.ping, "x"); flood.writeBuffer(&ping) }
        try channel.writeInbound(flood)
        XCTAssertEqual(hoarder.held.count, 1)
        hoarder.held.removeFirst().promise?.succeed(())
        try channel.writeInbound(clientFrame(.ping, "y"))
        XCTAssertEqual(hoarder.held.count, 1, "a new pong once the last one left")
        XCTAssertEqual(hoarder.held.first?.data.getBytes(at: 2, length: 1), Array("y".utf8))
        _ = try? channel.finish()
    }

    /// Nothing is passed up after the peer's close, nor written after ours.
    func testNothingCrossesAClose() throws {
        let (channel, hoarder) = try serverSide()
        var read = clientFrame(.binary, "before")
        var close = clientFrame(.connectionClose, "")
        var after = clientFrame(.binary, "after")
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
