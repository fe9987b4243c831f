import Crypto
import Foundation
import NIOConcurrencyHelpers
import XCTest

/// Open connections outlive the relay: real processes, the relay killed
/// with SIGKILL and restarted on the same port, a peer that never returns,
/// and a thousand connections waiting at once.
final class ResumptionTests: ProcessTestCase {
    /// A relay on a fixed port (so it can be restarted there), a host that
    /// allows `target`, and a guest forwarding a fresh local port to it.
    private struct Scene {
        let relayPort: Int
        var relay: ToolProcess
        let host: ToolProcess
        let guest: ToolProcess
        let localPort: Int
    }

    private func scene(target: Int, guestExtra: String = "") async throws -> Scene {
        let relayPort = try freePort()
        let localPort = try freePort()
        let server = "ws://127.0.0.1:\(relayPort)"
        let relay = try await self.relay(onPort: relayPort)
        let host = try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: server, allow: target))])
        let guest = try run("p22p-up", [try profiles().write("guest.yaml", Profiles.guest(server: server, forwards: [(localPort, target)], extra: guestExtra))])
        try await waitUntilForwarding(port: localPort)
        return Scene(relayPort: relayPort, relay: relay, host: host, guest: guest, localPort: localPort)
    }

    /// kill -9, then a new relay on the same port `after` seconds later:
    /// `standby` if given, else a new process.
    private func restartRelay(_ scene: inout Scene, after seconds: Double, standby: ToolProcess? = nil) async throws -> Date {
        scene.relay.send(SIGKILL)
        _ = try await scene.relay.waitForExit()
        try await scene.guest.waitForLine(containing: "wait for it to come back")
        // The outage itself is the scenario: a relay that is away this long.
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        if let standby {
            scene.relay = try await start(standby)
        } else {
            scene.relay = try await self.relay(onPort: scene.relayPort)
        }
        return Date()
    }

    /// 256 MiB through a forward while the relay is killed and restarted
    /// 3 s later: every byte arrives once, in order (SHA-256), and neither
    /// program sees a reset.
    func testTransferSurvivesTheRelayKilledAndRestarted() async throws {
        let gaps = NIOLockedValueBox<[TimeInterval]>([])
        let sink = try hashingSink(gaps: gaps)
        defer { sink.stop() }
        var scene = try await scene(target: sink.port)

        let total = 256 << 20
        let connection = try TCPConnection.connect(port: scene.localPort, timeoutSeconds: 60)
        defer { connection.close() }
        let sent = NIOLockedValueBox(0)
        let outcome = NIOLockedValueBox<String?>(nil)
        let sender = Thread {
            var chunk = randomBytes(1 << 20)
            var hasher = SHA256()
            do {
                try connection.send(Array("SINK".utf8))
                for index in 0..<(total >> 20) {
                    chunk[0] = UInt8(truncatingIfNeeded: index)
                    chunk[1] = UInt8(truncatingIfNeeded: index >> 8)
                    hasher.update(data: chunk)
                    try connection.send(chunk)
                    sent.withLockedValue { $0 += chunk.count }
                }
                connection.shutdownWrite()
                outcome.withLockedValue { $0 = Data(hasher.finalize()).base64EncodedString() }
            } catch {
                outcome.withLockedValue { $0 = "send failed: \(error)" }
            }
        }
        sender.start()
        // Kill the relay a quarter of the way in.
        let started = Date()
        while sent.withLockedValue({ $0 }) < total / 4, Date().timeIntervalSince(started) < 60 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertGreaterThanOrEqual(sent.withLockedValue { $0 }, total / 4, "the transfer runs")
        _ = try await restartRelay(&scene, after: 3)
        try await scene.guest.waitForLine(containing: "connection(s) with host resumed after", timeout: 15)

        let answer = try connection.receive(exactly: 8 + 32)
        let count = answer[0..<8].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(count, 4 + total, "bytes at the target")
        XCTAssertEqual(Data(answer[8...]).base64EncodedString(), outcome.withLockedValue { $0 }, "SHA-256 at the target")
        let longest = gaps.withLockedValue { $0.max() ?? 0 }
        print("256 MiB across a relay restart: longest pause at the target \(String(format: "%.2f", longest)) s; total \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        for member in [scene.guest, scene.host] {
            XCTAssertFalse(member.output.contains("connection(s) with") && member.output.contains("reset:"), member.output)
        }
    }

    /// An interactive session (one small message every 20 ms) across a
    /// relay restart: every message comes back once and in order; the
    /// longest pause the program sees is the outage plus the way back.
    func testInteractiveEchoPausesOnlyForTheOutage() async throws {
        let echo = try echoServer()
        var scene = try await scene(target: echo.port)
        let connection = try TCPConnection.connect(port: scene.localPort, timeoutSeconds: 30)
        defer { connection.close() }
        let count = 300
        let sender = Thread {
            for index in 0..<count {
                guard (try? connection.send(Self.message(index))) != nil else { return }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        let received = NIOLockedValueBox<[(index: Int, at: Date)]>([])
        let failure = NIOLockedValueBox<String?>(nil)
        let reader = Thread {
            for index in 0..<count {
                do {
                    let bytes = try connection.receive(exactly: 16)
                    guard bytes == Self.message(index) else {
                        failure.withLockedValue { $0 = "message \(index) came back as \(bytes)" }
                        return
                    }
                    received.withLockedValue { $0.append((index, Date())) }
                } catch {
                    failure.withLockedValue { $0 = "after \(index) messages: \(error)" }
                    return
                }
            }
        }
        sender.start()
        reader.start()
        let warmUp = Date().addingTimeInterval(15)
        while received.withLockedValue({ $0.count }) < 50, failure.withLockedValue({ $0 }) == nil, Date() < warmUp {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertGreaterThanOrEqual(received.withLockedValue { $0.count }, 50, "the echo runs before the outage: \(failure.withLockedValue { $0 } ?? "too slow")")
        let restarted = try await restartRelay(&scene, after: 3)
        let deadline = Date().addingTimeInterval(30)
        while received.withLockedValue({ $0.count }) < count, failure.withLockedValue({ $0 }) == nil, Date() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTAssertNil(failure.withLockedValue { $0 })
        let times = received.withLockedValue { $0.map(\.at) }
        XCTAssertEqual(times.count, count, "every message came back")
        let longest = zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? 0
        let firstAfter = times.first { $0 > restarted }.map { $0.timeIntervalSince(restarted) } ?? .infinity
        print("interactive echo across a relay restart: longest pause \(String(format: "%.2f", longest)) s; first echo \(String(format: "%.2f", firstAfter)) s after the relay was back")
        // The 1 s / 2 s targets are measured in release by benchmarks/reconnect.py;
        // this debug build on a busy CI machine gets some slack.
        XCTAssertLessThan(firstAfter, 3, "resumed within 3 s of the relay's return; guest:\n\(scene.guest.output)\nhost:\n\(scene.host.output)")
    }

    /// The host is killed for good: after the guest's `resume_timeout` (2 s
    /// here) the local program sees a reset, and the guest says why.
    func testConnectionIsResetWhenThePeerDoesNotComeBack() async throws {
        let echo = try echoServer()
        let scene = try await scene(target: echo.port, guestExtra: "resume_timeout: 2s")
        let connection = try TCPConnection.connect(port: scene.localPort, timeoutSeconds: 30)
        defer { connection.close() }
        try connection.send(Array("hello".utf8))
        XCTAssertEqual(try connection.receive(exactly: 5), Array("hello".utf8))

        scene.host.send(SIGKILL)
        let killed = Date()
        XCTAssertThrowsError(try connection.receive(), "the connection ends") { XCTAssertEqual("\($0)", "reset") }
        let waited = Date().timeIntervalSince(killed)
        print("reset \(String(format: "%.2f", waited)) s after the peer died (resume_timeout 2 s)")
        XCTAssertGreaterThanOrEqual(waited, 1.9)
        XCTAssertLessThan(waited, 6)
        try await scene.guest.waitForLine(containing: "1 connection(s) with host reset: host did not come back within 2 s")
    }

    /// A thousand connections wait through a relay restart and all work
    /// afterwards. While they wait, the guest holds their unacknowledged
    /// bytes and a small fixed cost each: measured here as RSS.
    func testAThousandSuspendedStreamsCostLittleAndAllResume() async throws {
        let echo = try echoServer()
        var scene = try await scene(target: echo.port)
        // Spawned before this process holds 2,000 sockets (see standbyRelay).
        let standby = try standbyRelay(onPort: scene.relayPort)
        let pid = scene.guest
        let before = pid.usage.rssKiB
        let payload = randomBytes(1024)
        var connections: [TCPConnection] = []
        defer { for connection in connections { connection.close() } }
        for _ in 0..<1000 {
            let connection = try TCPConnection.connect(port: scene.localPort, timeoutSeconds: 30)
            connections.append(connection)
            try connection.send(payload)
            XCTAssertEqual(try connection.receive(exactly: payload.count), payload)
        }
        let open = pid.usage.rssKiB
        _ = try await restartRelay(&scene, after: 0.5, standby: standby)
        let suspended = pid.usage.rssKiB
        try await scene.guest.waitForLine(containing: "1000 connection(s) with host resumed after", timeout: 20)
        for (index, connection) in connections.enumerated() {
            let message = Array("again \(index)".utf8)
            try connection.send(message)
            XCTAssertEqual(try connection.receive(exactly: message.count), message)
        }
        let perOpen = Double(open - before) / 1000
        let perSuspended = Double(suspended - before) / 1000
        print("guest RSS: \(before) KiB idle, \(open) KiB with 1,000 open (\(String(format: "%.1f", perOpen)) KiB each), \(suspended) KiB suspended (\(String(format: "%.1f", perSuspended)) KiB each; 1 KiB of it unacknowledged data)")
        // The unacknowledged KiB, its read buffer, the socket and the stream.
        XCTAssertLessThan(perSuspended, 24, "KiB per suspended stream")
        XCTAssertLessThan(Double(suspended - open), 1000 * 4, "suspending adds almost nothing")
    }

    /// `p22p create` and `p22p join` run the same engine: a connection
    /// through a one-shot forward survives a relay restart too.
    func testOneShotCommandsResumeToo() async throws {
        let echo = try echoServer()
        let relayPort = try freePort()
        let localPort = try freePort()
        let server = "ws://127.0.0.1:\(relayPort)"
        var relay = try await self.relay(onPort: relayPort)
        let env = ["P22P_PASSWORD": "pw"]
        let host = try run("p22p", ["create", "demo", "--server", server, "--name", "host", "--allow", "\(echo.port)"], environment: env)
        try await host.waitForLine(containing: "created group demo")
        let guest = try run("p22p", ["join", "demo", "--server", server, "--name", "guest", "--resume-timeout", "20",
                                     "--relay", "host:\(localPort):\(echo.port)"], environment: env)
        try await waitUntilForwarding(port: localPort)
        let connection = try TCPConnection.connect(port: localPort, timeoutSeconds: 30)
        defer { connection.close() }
        try connection.send(Array("before".utf8))
        XCTAssertEqual(try connection.receive(exactly: 6), Array("before".utf8))

        relay.send(SIGKILL)
        _ = try await relay.waitForExit()
        try await guest.waitForLine(containing: "at most 20 s")
        try connection.send(Array("during".utf8))
        relay = try run("p22p-server", ["--listen", "127.0.0.1:\(relayPort)"])
        XCTAssertEqual(try connection.receive(exactly: 6), Array("during".utf8), "held while the relay was away, delivered after")
        try await guest.waitForLine(containing: "1 connection(s) with host resumed after")
        try await host.waitForLine(containing: "1 connection(s) with guest resumed after")
    }

    private static func message(_ index: Int) -> [UInt8] {
        Array(String(format: "message %06d\n\n", index).utf8)
    }

    /// Echoes, or, for a connection that starts with "SINK", hashes the rest
    /// until EOF and answers with its length (8 bytes, big-endian, counting
    /// the 4 of "SINK") and SHA-256; records the pauses between reads.
    private func hashingSink(gaps: NIOLockedValueBox<[TimeInterval]>) throws -> TCPTestServer {
        try TCPTestServer { connection in
            guard let mode = try? connection.receive(exactly: 4) else { return connection.close() }
            guard mode == Array("SINK".utf8) else {
                _ = try? connection.send(mode)
                return connection.echoUntilEOF()
            }
            var hasher = SHA256()
            var total = 4
            var last = Date()
            var pauses: [TimeInterval] = []
            while let chunk = try? connection.receive(), !chunk.isEmpty {
                pauses.append(Date().timeIntervalSince(last))
                last = Date()
                hasher.update(data: chunk)
                total += chunk.count
            }
            gaps.withLockedValue { $0 = pauses }
            let length = (0..<8).map { UInt8(truncatingIfNeeded: total >> (8 * (7 - $0))) }
            _ = try? connection.send(length + Array(hasher.finalize()))
            connection.close()
        }
    }
}
