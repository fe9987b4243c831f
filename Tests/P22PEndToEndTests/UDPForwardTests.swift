import Foundation
import NIOConcurrencyHelpers
import NIOCore
import P22PClient
import XCTest

/// `protocol: udp` forwards between real processes: datagrams go whole, each
/// local program gets its own flow and its own answers, idle flows end, a
/// target the peer does not allow receives nothing, and UDP keeps its round
/// trip while a bulk TCP transfer shares the link.
final class UDPForwardTests: ProcessTestCase {
    private let password = ["P22P_PASSWORD": "udp password"]

    /// A relay, a host allowing `allow`, and a guest with the `relays` forwards to it.
    private func pair(allow: [String], relays: [String], hostArguments: [String] = [],
                      guestArguments: [String] = []) async throws -> (host: ToolProcess, guest: ToolProcess) {
        let relay = try await startRelay()
        let host = try run("p22p", ["create", "games", "--server", relay.url, "--name", "host"]
                           + allow.flatMap { ["--allow", $0] } + hostArguments, environment: password)
        try await host.waitForLine(containing: "created group games")
        let guest = try run("p22p", ["join", "games", "--server", relay.url, "--name", "guest"]
                            + relays.flatMap { ["--relay", $0] } + guestArguments, environment: password)
        try await guest.waitForLine(containing: "peer host (CID 1) is in the group")
        return (host, guest)
    }

    /// The local port of the guest's forward whose log line starts with `prefix`.
    private func forwardedPort(_ guest: ToolProcess, _ prefix: String) async throws -> Int {
        let line = try await guest.waitForLine(containing: prefix)
        return try XCTUnwrap(Int(line.components(separatedBy: prefix)[1].prefix { $0.isNumber }), line)
    }

    /// Client `client`'s datagram number `sequence`: 512 bytes that say whose and which they are.
    static func numbered(client: UInt8, sequence: Int) -> [UInt8] {
        var bytes = [client] + withUnsafeBytes(of: UInt32(sequence).bigEndian, Array.init)
        bytes += (0..<507).map { UInt8(truncatingIfNeeded: sequence &* 31 &+ Int(client) &* 7 &+ $0) }
        return bytes
    }

    func testTwoClientsEachGetTheirOwnDatagramsBackWhole() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let (_, guest) = try await pair(allow: ["\(echo.port)/udp"], relays: ["host:0:\(echo.port)/udp"])
        let port = try await forwardedPort(guest, "forwarding UDP 127.0.0.1:")

        // Two programs, two source ports: 3,000 numbered datagrams each at 1,000 per second.
        let count = 3000
        let clients = try [UDPSocket(timeoutMilliseconds: 200), UDPSocket(timeoutMilliseconds: 200)]
        defer { for client in clients { client.close() } }
        let received = NIOLockedValueBox<[Set<Int>]>([[], []])
        let wrong = NIOLockedValueBox<[String]>([])
        let sendingDone = NIOLockedValueBox<Int>(0)
        let finished = DispatchGroup()
        for (index, client) in clients.enumerated() {
            let id = UInt8(index + 1)
            finished.enter()
            Thread {
                let start = Date()
                for sequence in 0..<count {
                    Thread.sleep(until: start.addingTimeInterval(Double(sequence) / 1000))
                    try? client.send(Self.numbered(client: id, sequence: sequence), to: port)
                }
                sendingDone.withLockedValue { $0 += 1 }
                finished.leave()
            }.start()
            finished.enter()
            Thread {
                // Until every answer is in, or 2 s after both senders finished (at most 10 s in all).
                let giveUp = Date().addingTimeInterval(10)
                var quietSince: Date?
                while Date() < giveUp, received.withLockedValue({ $0[index].count }) < count {
                    guard let (bytes, _) = client.receive() else {
                        if sendingDone.withLockedValue({ $0 }) == 2 {
                            if quietSince == nil { quietSince = Date() }
                            if Date().timeIntervalSince(quietSince!) > 2 { break }
                        }
                        continue
                    }
                    quietSince = nil
                    let sequence = bytes.count >= 5 ? Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4]) : -1
                    guard bytes.count == 512, bytes[0] == id, sequence < count, bytes == Self.numbered(client: id, sequence: sequence) else {
                        wrong.withLockedValue { $0.append("client \(id) got \(bytes.count) bytes starting \(Array(bytes.prefix(5)))") }
                        continue
                    }
                    received.withLockedValue { _ = $0[index].insert(sequence) }
                }
                finished.leave()
            }.start()
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        let counts = received.withLockedValue { $0.map(\.count) }
        print("UDP: client 1 got \(counts[0]) of \(count) back, client 2 got \(counts[1]) of \(count)")
        if counts.contains(where: { $0 < count }) {
            // Where the losses were says why: a run at the start (session set-up) or spread out (a socket buffer).
            let missing = received.withLockedValue { sets in sets.map { got in (0..<count).filter { !got.contains($0) } } }
            for (index, lost) in missing.enumerated() where !lost.isEmpty {
                print("client \(index + 1) lost \(lost.count): first \(lost.prefix(10)), last \(lost.suffix(5))")
            }
            print("echo target saw \(echo.count) datagrams; guest said:\n"
                  + guest.output.split(separator: "\n").filter { $0.contains("UDP") || $0.contains("dropped") }.joined(separator: "\n"))
        }
        XCTAssertEqual(wrong.withLockedValue { $0 }, [], "every datagram back whole, to the client that sent it")
        for (index, got) in counts.enumerated() {
            XCTAssertGreaterThanOrEqual(got, count * 99 / 100, "client \(index + 1): at least 99% come back")
        }
        XCTAssertEqual(echo.sourcePorts.count, 2, "one flow, with a socket of its own, per local program")
    }

    func testLargestUDPDatagramCrossesWhole() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let (_, guest) = try await pair(allow: ["\(echo.port)/udp"], relays: ["host:0:\(echo.port)/udp"])
        let port = try await forwardedPort(guest, "forwarding UDP 127.0.0.1:")
        let client = try UDPSocket()
        defer { client.close() }
        // 65,507 bytes: the most one IPv4 UDP datagram holds.
        let largest = randomBytes(65_507)
        try client.send(largest, to: port)
        let answer = try XCTUnwrap(client.receive(), "no answer to the largest datagram")
        XCTAssertEqual(answer.bytes.count, largest.count)
        XCTAssertEqual(answer.bytes, largest)
    }

    /// A UDP datagram holds at most 65,507 bytes, less than a default frame
    /// carries (64 KiB of data), so the limit shows with a relay whose frames
    /// are smaller: larger datagrams are dropped and counted, never split.
    func testDatagramTooBigForAFrameIsDroppedAndCounted() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let cluster = try await Cluster { $0.maxFrameSize = 16384 }
        defer { Task { await cluster.shutdown() } }
        _ = try await cluster.member("host", mode: .create, allow: ["\(echo.port)/udp"])
        let guest = try await cluster.member("guest")
        let spec = ForwardSpec(peer: .name("host"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                               target: TargetAddress(host: "127.0.0.1", port: echo.port), ipProtocol: .udp)
        let port = try await cluster.addForward(on: guest, spec).get()
        let client = try UDPSocket(timeoutMilliseconds: 500)
        defer { client.close() }

        let limit = 16384 - 1024
        try client.send(randomBytes(limit + 1), to: port)
        try client.send(randomBytes(20_000), to: port)
        let fits = randomBytes(limit)
        try client.send(fits, to: port)
        XCTAssertEqual(client.receive()?.bytes, fits, "the largest datagram a frame holds goes whole")
        XCTAssertNil(client.receive(), "nothing else comes back")
        XCTAssertEqual(echo.count, 1, "the target got only the datagram that fits")
        let forwards = try await cluster.forwardList(on: guest)
        let stats = try XCTUnwrap(forwards.first?.udp)
        XCTAssertEqual(stats.droppedTooBig, 2)
        XCTAssertEqual(stats.datagramsToPeer, 1)
        XCTAssertEqual(stats.datagramsFromPeer, 1)
        XCTAssertTrue(cluster.memberLog.contains("a frame of the relay holds at most \(limit)"), "\(cluster.memberLog.all)")
    }

    func testFlowEndsAfterItsIdleTimeout() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let idle = ["--udp-idle-timeout", "1"]
        let (host, guest) = try await pair(allow: ["\(echo.port)/udp"], relays: ["host:0:\(echo.port)/udp"],
                                           hostArguments: idle + ["--log-level", "debug"], guestArguments: idle + ["--log-level", "debug"])
        let port = try await forwardedPort(guest, "forwarding UDP 127.0.0.1:")
        let client = try UDPSocket()
        defer { client.close() }
        try client.send(Array("first".utf8), to: port)
        XCTAssertEqual(client.receive()?.bytes, Array("first".utf8))
        XCTAssertEqual(echo.sourcePorts.count, 1)

        try await host.waitForLine(containing: "ended: no datagram either way for 1 s")
        // And on the guest (by its own clock, or told by the host): a datagram sent before would go to the old flow.
        try await guest.waitForLine(containing: "/udp ended:")
        // The flow's socket on the host is gone: the next datagram is a new flow, from a new port.
        try client.send(Array("second".utf8), to: port)
        XCTAssertEqual(client.receive()?.bytes, Array("second".utf8))
        XCTAssertEqual(echo.sourcePorts.count, 2, "a new flow after the idle timeout: \(echo.sourcePorts)")
    }

    func testUDPTargetThatIsNotAllowedReceivesNothing() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        // The bare entry allows TCP to that port, not UDP.
        let (host, guest) = try await pair(allow: ["\(echo.port)"], relays: ["host:0:\(echo.port)/udp"])
        let port = try await forwardedPort(guest, "forwarding UDP 127.0.0.1:")
        let client = try UDPSocket(timeoutMilliseconds: 300)
        defer { client.close() }
        for index in 0..<20 { try client.send([UInt8(index)], to: port) }
        try await guest.waitForLine(containing: "host refused UDP to 127.0.0.1:\(echo.port)")
        for index in 0..<20 { try client.send([UInt8(index)], to: port) }
        XCTAssertNil(client.receive(), "no answer from a target that is not allowed")
        XCTAssertEqual(echo.count, 0, "nothing reaches the target")
        let refusals = host.output.components(separatedBy: "refused UDP flow from guest to 127.0.0.1:\(echo.port)").count - 1
        XCTAssertEqual(refusals, 1, "the host refuses the flow once:\n\(host.output)")
        let told = guest.output.components(separatedBy: "host refused UDP to").count - 1
        XCTAssertEqual(told, 1, "the sender is told once:\n\(guest.output)")
        XCTAssertTrue(host.output.contains("allow 127.0.0.1:\(echo.port)/udp"), "the refusal names the fix:\n\(host.output)")
    }

    /// The guest is killed with flows open and comes back, a new process
    /// under the same name, forwarding to another target. Its flows are
    /// numbered from the start again: the host must not hand them to the
    /// sockets of the old flows (to the old target), but open new ones.
    func testAPeerThatRestartsGetsNewFlowsNotTheOldOnes() async throws {
        let first = try UDPEchoServer()
        let second = try UDPEchoServer()
        defer { first.stop(); second.stop() }
        let relay = try await startRelay()
        let host = try run("p22p", ["create", "games", "--server", relay.url, "--name", "host", "--log-level", "debug",
                                    "--allow", "\(first.port)/udp", "--allow", "\(second.port)/udp"], environment: password)
        try await host.waitForLine(containing: "created group games")
        let join = ["join", "games", "--server", relay.url, "--name", "guest", "--relay"]
        let guest = try run("p22p", join + ["host:0:\(first.port)/udp"], environment: password)
        try await guest.waitForLine(containing: "peer host (CID 1) is in the group")
        let port = try await forwardedPort(guest, "forwarding UDP 127.0.0.1:")
        let client = try UDPSocket()
        defer { client.close() }
        try client.send(Array("to the first".utf8), to: port)
        XCTAssertEqual(client.receive()?.bytes, Array("to the first".utf8))
        XCTAssertEqual(first.count, 1)

        guest.send(SIGKILL)
        try await host.waitForLine(containing: "UDP flow(s) with guest wait for it to come back")
        let again = try run("p22p", join + ["host:0:\(second.port)/udp"], environment: password)
        try await again.waitForLine(containing: "peer host (CID 1) is in the group")
        let newPort = try await forwardedPort(again, "forwarding UDP 127.0.0.1:")
        try client.send(Array("to the second".utf8), to: newPort)
        XCTAssertEqual(client.receive()?.bytes, Array("to the second".utf8), "the new guest's flow reaches its own target")
        XCTAssertEqual(second.count, 1, "the second target got the datagram")
        XCTAssertEqual(first.count, 1, "the old flow's target got nothing more")
        try await host.waitForLine(containing: "ended: guest started a new session")
    }

    /// UDP round trip p50 with the link idle, then with a bulk TCP transfer
    /// on the same link. Datagrams are never queued behind more than the
    /// streams may have in flight (one window each way), so the transfer adds
    /// at most 5 ms in a release build (benchmarks/run.sh measures it there).
    /// A debug build moves bytes about ten times slower, so the same window
    /// takes longer to drain: there the bound is 5 ms plus two windows at the
    /// transfer's own rate, which still fails if datagrams wait behind
    /// anything unbounded.
    func testUDPRoundTripDuringABulkTCPTransfer() async throws {
        let udpEcho = try UDPEchoServer()
        defer { udpEcho.stop() }
        let tcpEcho = try TCPTestServer.echo()
        defer { tcpEcho.stop() }
        let (_, guest) = try await pair(allow: ["\(udpEcho.port)/udp", "\(tcpEcho.port)"],
                                        relays: ["host:0:\(udpEcho.port)/udp", "host:0:\(tcpEcho.port)"])
        let udpPort = try await forwardedPort(guest, "forwarding UDP 127.0.0.1:")
        let tcpPort = try await forwardedPort(guest, "forwarding 127.0.0.1:")
        let client = try UDPSocket(timeoutMilliseconds: 250)
        defer { client.close() }

        let idle = try Self.roundTrips(client, port: udpPort, count: 300)
        let bulk = BulkTransfer(port: tcpPort)
        defer { bulk.stop() }
        // In full swing before measuring.
        let warm = Date().addingTimeInterval(10)
        while bulk.echoed < 16 << 20, Date() < warm { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertGreaterThanOrEqual(bulk.echoed, 16 << 20, "the bulk transfer runs")
        let before = bulk.echoed
        let started = Date()
        let loaded = try Self.roundTrips(client, port: udpPort, count: 300)
        let during = bulk.echoed - before
        let rate = Double(during) / Date().timeIntervalSince(started)
        bulk.stop()
        #if DEBUG
        let bound = 0.005 + 2 * Double(MemberConfiguration(group: "g", name: "n", mode: .join).streamWindow) / rate
        #else
        let bound = 0.005
        #endif
        print(String(format: "UDP round trip p50 %.2f ms idle (%d lost), %.2f ms during bulk TCP (%d lost, %.0f MB/s each way); bound %.1f ms",
                     idle.p50 * 1000, idle.lost, loaded.p50 * 1000, loaded.lost, rate / 1e6, bound * 1000))
        XCTAssertGreaterThan(during, 8 << 20, "the bulk transfer went on while UDP was measured")
        XCTAssertLessThanOrEqual(loaded.p50 - idle.p50, bound, "a bulk TCP transfer delays UDP by at most what the stream windows hold in flight")
        XCTAssertLessThan(loaded.lost, 150, "most datagrams get through a busy link")
    }

    /// `count` 64-byte round trips, one at a time; p50 of those answered (in s) and how many were lost.
    static func roundTrips(_ client: UDPSocket, port: Int, count: Int) throws -> (p50: Double, lost: Int) {
        var times: [Double] = []
        var lost = 0
        for index in 0..<count {
            var message = withUnsafeBytes(of: UInt32(index).bigEndian, Array.init)
            message += [UInt8](repeating: 0x61, count: 60)
            let start = Date()
            try client.send(message, to: port)
            // Skip late answers to earlier, lost probes.
            var answered = false
            while let (bytes, _) = client.receive() {
                if bytes == message {
                    answered = true
                    break
                }
            }
            if answered { times.append(Date().timeIntervalSince(start)) } else { lost += 1 }
        }
        guard !times.isEmpty else { throw SocketError("no UDP round trip answered") }
        return (times.sorted()[times.count / 2], lost)
    }

    func testCommandLoopForwardsUDPAndListsItsCounts() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let relay = try await startRelay()
        let host = try run("p22p", ["create", "games", "--server", relay.url, "--name", "host", "--allow", "\(echo.port)/udp"],
                           environment: password)
        try await host.waitForLine(containing: "created group games")
        let guest = try run("p22p", ["--name", "guest"], environment: password, interactive: true)
        try await guest.waitForLine(containing: "type help")
        try await guest.command("connect \(relay.url)", expect: "connected")
        try await guest.command("join games", expect: "joined group games as guest")
        try await guest.command("allow 27015/udp 22", expect: "allowed: 127.0.0.1:22, 127.0.0.1:27015/udp")
        let forwarding = try await guest.command("relay host 0 \(echo.port)/udp", expect: "forwarding UDP 127.0.0.1:")
        let port = try XCTUnwrap(Int(forwarding.components(separatedBy: "forwarding UDP 127.0.0.1:")[1].prefix { $0.isNumber }))

        let client = try UDPSocket()
        defer { client.close() }
        for index in 0..<5 {
            try client.send([UInt8](repeating: UInt8(index), count: 100), to: port)
            XCTAssertEqual(client.receive()?.bytes, [UInt8](repeating: UInt8(index), count: 100))
        }
        let list = try await guest.command("list", expect: "dropped:")
        XCTAssertTrue(list.contains("listening, 1 flow(s), 5 datagrams to the peer (500 bytes), 5 from it (500 bytes), dropped: none"), list)
        XCTAssertTrue(list.contains("127.0.0.1:\(echo.port)/udp"), list)
    }
}

extension UDPForwardTests {
    /// p22p-up with a UDP forward and `status: { listen: … }`: /metrics
    /// counts the datagrams carried and each kind dropped.
    func testDaemonReportsUDPDropsInItsMetrics() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        // Frames of 16 KiB: a 20,000-byte datagram is too big for them.
        let relay = try await startRelay(["--max-frame-size", "16384"])
        let profiles = try profiles()
        let host = try run("p22p-up", [try profiles.write("host.yaml", Profiles.host(server: relay.url, allow: 1)
            .replacingOccurrences(of: "allow: [1]", with: "allow: [\"\(echo.port)/udp\"]"))])
        try await host.waitForLine(containing: "created group home")
        let local = try freePort()
        let metricsPort = try freePort()
        let guestYAML = """
        server: \(relay.url)
        name: guest
        status: { listen: 127.0.0.1:\(metricsPort) }
        groups:
          - name: home
            password_file: group.pass
            forwards:
              - { listen: 127.0.0.1:\(local), peer: host, target: \(echo.port), protocol: udp }
        """
        let guest = try run("p22p-up", [try profiles.write("guest.yaml", guestYAML)])
        try await guest.waitForLine(containing: "peer host (CID 1) is in the group")
        try await guest.waitForLine(containing: "status at http://127.0.0.1:\(metricsPort)/")

        let client = try UDPSocket()
        defer { client.close() }
        for index in 0..<3 {
            try client.send([UInt8](repeating: UInt8(index), count: 1000), to: local)
            XCTAssertEqual(client.receive()?.bytes.count, 1000)
        }
        try client.send(randomBytes(20_000), to: local)
        try await guest.waitForLine(containing: "UDP datagram of 20000 bytes")

        let connection = try TCPConnection.connect(port: metricsPort)
        defer { connection.close() }
        try connection.send(Array("GET /metrics HTTP/1.0\r\n\r\n".utf8))
        var response: [UInt8] = []
        while let chunk = try? connection.receive(), !chunk.isEmpty { response += chunk }
        let metrics = String(decoding: response, as: UTF8.self)
        XCTAssertTrue(metrics.contains("p22p_udp_datagrams_total{direction=\"to_peer\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("p22p_udp_datagrams_total{direction=\"from_peer\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("p22p_udp_bytes_total{direction=\"to_peer\"} 3000"), metrics)
        XCTAssertTrue(metrics.contains("p22p_udp_datagrams_dropped_total{reason=\"too_big\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("p22p_udp_flows 1"), metrics)
    }
}

/// A TCP transfer through a forward that runs until stopped (at most 60 s):
/// one thread writes 256 KiB chunks, another reads the echo.
final class BulkTransfer: @unchecked Sendable {  // a connection and locked counters
    private let connection: TCPConnection?
    private let moved = NIOLockedValueBox(0)
    private let stopped = NIOLockedValueBox(false)

    init(port: Int) {
        connection = try? TCPConnection.connect(port: port)
        guard let connection else { return }
        let moved = self.moved
        let stopped = self.stopped
        let chunk = randomBytes(256 << 10)
        Thread {
            let end = Date().addingTimeInterval(60)
            while !stopped.withLockedValue({ $0 }), Date() < end {
                if (try? connection.send(chunk)) == nil { break }
            }
            connection.shutdownWrite()
        }.start()
        Thread {
            while let bytes = try? connection.receive(), !bytes.isEmpty { moved.withLockedValue { $0 += bytes.count } }
            connection.close()
        }.start()
    }

    /// Bytes echoed back so far.
    var echoed: Int { moved.withLockedValue { $0 } }

    func stop() { stopped.withLockedValue { $0 = true } }
}
