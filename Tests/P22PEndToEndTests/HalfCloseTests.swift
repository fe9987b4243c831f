import Foundation
import P22PClient
import XCTest

/// TCP semantics survive the trip: a FIN in one direction leaves the other
/// open, and a reset arrives as a reset.
final class HalfCloseTests: XCTestCase {
    /// Like `nc -N`: the client sends its request, shuts down its write side,
    /// and still receives the whole reply, which the server only sends after
    /// seeing the client's EOF.
    func testClientThatShutsDownWritingStillGetsTheWholeReply() async throws {
        let reply = randomBytes(3 << 20)
        let server = try TCPTestServer { connection in
            var request: [UInt8] = []
            while let chunk = try? connection.receive(), !chunk.isEmpty { request += chunk }
            try? connection.send(Array("got \(request.count) bytes\n".utf8) + reply)
            connection.close()
        }
        defer { server.stop() }
        let (cluster, port) = try await Cluster.forwarding(to: server.port)
        defer { Task { await cluster.shutdown() } }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array(repeating: 7, count: 100_000))
        connection.shutdownWrite()
        var received: [UInt8] = []
        while true {
            let chunk = try connection.receive()
            if chunk.isEmpty { break }
            received += chunk
        }
        let header = Array("got 100000 bytes\n".utf8)
        XCTAssertEqual(Array(received.prefix(header.count)), header)
        XCTAssertEqual(Array(received.dropFirst(header.count)), reply)
    }

    /// The target answers and then keeps its side open while the client,
    /// having half-closed, waits: the reply is not held back for the FIN.
    func testReplyFlowsWhileOnlyOneDirectionIsClosed() async throws {
        let server = try TCPTestServer { connection in
            guard let request = try? connection.receive(exactly: 4) else { return }
            try? connection.send(request.reversed())
            _ = try? connection.receive()   // waits for the client's EOF
            try? connection.send(Array("bye".utf8))
            connection.close()
        }
        defer { server.stop() }
        let (cluster, port) = try await Cluster.forwarding(to: server.port)
        defer { Task { await cluster.shutdown() } }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("abcd".utf8))
        XCTAssertEqual(try connection.receive(exactly: 4), Array("dcba".utf8))
        connection.shutdownWrite()
        XCTAssertEqual(try connection.receive(exactly: 3), Array("bye".utf8))
        XCTAssertEqual(try connection.receive(), [], "EOF after the reply")
    }

    func testTargetResetArrivesAsReset() async throws {
        let server = try TCPTestServer { connection in
            _ = try? connection.receive(exactly: 5)
            connection.reset()
        }
        defer { server.stop() }
        let (cluster, port) = try await Cluster.forwarding(to: server.port)
        defer { Task { await cluster.shutdown() } }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("hello".utf8))
        XCTAssertThrowsError(try connection.receive()) { error in
            XCTAssertEqual("\(error)", "reset")
        }
    }

    func testClientResetReachesTheTarget() async throws {
        let outcome = Recorder()
        let server = try TCPTestServer { connection in
            _ = try? connection.receive(exactly: 5)
            do {
                _ = try connection.receive()
                outcome.add("EOF")
            } catch {
                outcome.add("\(error)")
            }
        }
        defer { server.stop() }
        let (cluster, port) = try await Cluster.forwarding(to: server.port)
        defer { Task { await cluster.shutdown() } }

        let connection = try TCPConnection.connect(port: port)
        try connection.send(Array("hello".utf8))
        try await Task.sleep(nanoseconds: 300_000_000)
        connection.reset()
        for _ in 0..<100 where outcome.all.isEmpty { try await Task.sleep(nanoseconds: 50_000_000) }
        XCTAssertEqual(outcome.all, ["reset"])
    }
}
