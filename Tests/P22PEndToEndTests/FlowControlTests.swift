import Foundation
import P22PRelay
import P22PTransport
@testable import P22PClient
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

final class Counter: @unchecked Sendable {  // `count` is under `lock`
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

/// The scene of the non-reader tests: a guest pulling data from the host on
/// 16 streams (more in flight than the kernel buffers on loopback absorb),
/// which then stops reading its WebSocket; and carol, who keeps up,
/// forwarding to an echo server on the host.
private struct NonReaderScene {
    let cluster: Cluster
    let host: Member
    let guest: Member
    let carolPort: Int
    private let servers: [TCPTestServer]
    private let pulls: [TCPConnection]

    static func start(_ configure: @escaping (inout RelayConfiguration) -> Void) async throws -> NonReaderScene {
        // A target that sends without end, for streams that pull data toward the guest.
        let source = try TCPTestServer { connection in
            let chunk = randomBytes(64 << 10)
            for _ in 0..<2000 { if (try? connection.send(chunk)) == nil { break } }
            connection.close()
        }
        let echo = try TCPTestServer.echo()
        let cluster = try await Cluster { configuration in
            // Long enough that the buffer rules, not the keepalive, catch the non-reader.
            configuration.keepalive = Keepalive(interval: .seconds(1), timeout: .seconds(60))
            configure(&configuration)
        }
        let (host, guest, port) = try await cluster.pair(allow: ["\(source.port)", "\(echo.port)"], target: source.port)
        let carol = try await cluster.member("carol")
        let carolPort = try await cluster.addForward(on: carol, ForwardSpec(peer: .name("host"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                                                               target: TargetAddress(host: "127.0.0.1", port: echo.port))).get()
        var pulls: [TCPConnection] = []
        for _ in 0..<16 { pulls.append(try TCPConnection.connect(port: port)) }
        // Streams open and data flowing toward the guest; then it stops reading.
        let flowing = Date().addingTimeInterval(10)
        while cluster.relay.stats.relayedBytes < 4 << 20, Date() < flowing { try await Task.sleep(nanoseconds: 20_000_000) }
        // With a tight limit (the global cap of 2 MiB) the relay may drop the
        // guest already here, for a burst it did not take in time: it is then
        // the member with the backlog all the same, and the tests' log lines
        // come from that.
        try await guest.eventLoop.flatSubmit {
            guest.link?.setOption(.autoRead, value: false) ?? guest.eventLoop.makeSucceededVoidFuture()
        }.get()
        return NonReaderScene(cluster: cluster, host: host, guest: guest, carolPort: carolPort, servers: [source, echo], pulls: pulls)
    }

    /// Carol's traffic still flows.
    func carolGetsThrough() throws -> Bool {
        let message = randomBytes(10_000)
        return try roundTrip(port: carolPort, message: message) == message
    }

    func stop() async {
        pulls.forEach { $0.close() }
        servers.forEach { $0.stop() }
        await cluster.shutdown()
    }
}

extension FlowControlTests {
    /// A member that stops reading its WebSocket is disconnected by the relay
    /// ("not reading") once its queue stops draining, while the member
    /// sending to it is merely paused (not timed out) and everyone else
    /// keeps flowing.
    func testMemberThatStopsReadingIsDisconnectedAndOthersGoOn() async throws {
        let scene = try await NonReaderScene.start { configuration in
            configuration.pauseAbove = 128 << 10
            configuration.resumeBelow = 32 << 10
            configuration.stallTimeout = .seconds(2)
        }
        defer { Task { await scene.stop() } }
        let reason = try await scene.guest.closeFuture.get()
        XCTAssertFalse(reason.isEmpty)
        try await scene.cluster.relayLog.wait(for: "not reading")
        XCTAssertFalse(scene.host.isClosed, "the sender was paused, and must not have been dropped")
        XCTAssertTrue(try scene.carolGetsThrough())
    }

    /// Under the global cap on queued bytes, a non-reader is disconnected
    /// even while under its own bounds and before its stall timeout, and
    /// members that keep up are not touched.
    func testGlobalQueueCapDisconnectsTheNonReaderOnly() async throws {
        let scene = try await NonReaderScene.start { configuration in
            // Per-member rules far away: only the global cap can act.
            configuration.maxBufferedPerMember = 64 << 20
            configuration.pauseAbove = 32 << 20
            configuration.stallTimeout = .seconds(120)
            configuration.maxBufferedTotal = 2 << 20
        }
        defer { Task { await scene.stop() } }
        // The guest reads nothing, so it would only notice by its keepalive;
        // the relay's line is the event.
        try await scene.cluster.relayLog.wait(for: "not reading while the relay is short of memory", "limit 2097152")
        XCTAssertFalse(scene.host.isClosed)
        XCTAssertTrue(try scene.carolGetsThrough())
    }
}
