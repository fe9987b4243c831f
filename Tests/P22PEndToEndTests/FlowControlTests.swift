import Foundation
import P22PClient
import P22PRelay
import XCTest

/// One stalled reader stalls only its own stream, and the relay's memory stays
/// bounded by configuration while a sender pushes as fast as it can.
final class FlowControlTests: XCTestCase {
    func testStalledTargetStallsOnlyItsStreamAndRelayMemoryStaysBounded() async throws {
        let stallSeconds = 5.0
        let stalledBytes = Counter()
        let target = try TCPTestServer { connection in
            guard let mode = try? connection.receive(exactly: 4) else { return }
            if mode == Array("STAL".utf8) {
                Thread.sleep(forTimeInterval: stallSeconds)
                while let chunk = try? connection.receive(), !chunk.isEmpty { stalledBytes.add(chunk.count) }
                connection.close()
            } else {
                connection.echoUntilEOF()
            }
        }
        defer { target.stop() }
        let maxBuffered = 4 << 20
        let cluster = try await Cluster { configuration in
            configuration.pauseAbove = 512 << 10
            configuration.resumeBelow = 128 << 10
            configuration.maxBufferedPerMember = maxBuffered
        }
        defer { Task { await cluster.shutdown() } }
        let (_, _, port) = try await cluster.pair(allow: ["\(target.port)"], target: target.port)

        // Stream A: push 64 MiB at a target that does not read for 5 s.
        let total = 64 << 20
        let pushed = Counter()
        let stalled = try TCPConnection.connect(port: port)
        defer { stalled.close() }
        try stalled.send(Array("STAL".utf8))
        let pusher = Thread {
            let chunk = randomBytes(256 << 10)
            while pushed.value < total {
                do { try stalled.send(chunk) } catch { return }
                pushed.add(chunk.count)
            }
            stalled.shutdownWrite()
        }
        pusher.start()

        // Stream B on the same pair keeps answering round trips meanwhile.
        let lively = try TCPConnection.connect(port: port)
        defer { lively.close() }
        try lively.send(Array("ECHO".utf8))
        var slowest = 0.0
        var trips = 0
        let start = Date()
        while Date().timeIntervalSince(start) < stallSeconds - 1 {
            let ping = randomBytes(64)
            let sent = Date()
            try lively.send(ping)
            XCTAssertEqual(try lively.receive(exactly: 64), ping)
            slowest = max(slowest, Date().timeIntervalSince(sent))
            trips += 1
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let pushedWhileStalled = pushed.value
        print("flow control: \(trips) round trips, slowest \(slowest) s, pushed while stalled \(pushedWhileStalled), relay peak \(cluster.relay.stats.peakBufferedBytes)")
        XCTAssertGreaterThan(trips, 20)
        XCTAssertLessThan(slowest, 1.0, "round trips on the other stream must stay under a second")
        // The stalled stream really was held back: only its window plus
        // socket buffers left the sender.
        XCTAssertLessThan(pushedWhileStalled, 16 << 20, "sender was not held back by the stalled stream's window")
        XCTAssertLessThan(cluster.relay.stats.peakBufferedBytes, maxBuffered)

        // Once the target reads again, every byte arrives.
        let deadline = Date().addingTimeInterval(120)
        while stalledBytes.value < total, Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
        XCTAssertEqual(stalledBytes.value, total)
        XCTAssertLessThan(cluster.relay.stats.peakBufferedBytes, maxBuffered,
                          "relay buffered \(cluster.relay.stats.peakBufferedBytes) bytes at peak")
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ amount: Int) { lock.withLock { count += amount } }
    var value: Int { lock.withLock { count } }
}

extension FlowControlTests {
    /// A relay with a small maximum frame size tells members in its hello,
    /// and they cut their data to fit: bulk data still arrives intact.
    func testMembersFitTheirFramesToTheRelaysLimit() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let cluster = try await Cluster { $0.maxFrameSize = 4096 }
        defer { Task { await cluster.shutdown() } }
        let (_, _, port) = try await cluster.pair(allow: ["\(echo.port)"], target: echo.port)
        let message = randomBytes(1 << 20)
        XCTAssertEqual(try roundTrip(port: port, message: message), message)
        XCTAssertGreaterThan(cluster.relay.stats.relayedFrames, 2 * (1 << 20) / 4096, "data was not cut to the relay's frame size")
    }
}
