import Foundation
import XCTest

/// Three relays behind real HAProxy, configured as examples/cluster/haproxy.cfg
/// says, sharing reservations in a real PostgreSQL: every group lands on one
/// relay by its path, the groups spread over the relays, and when the relay
/// with the most groups is killed with -9, its groups move to the others and
/// every forward works again within 30 s. The groups are reserved `#` names,
/// so each one that moves is created again on a relay that did not sign its key.
final class RelayClusterTests: ProcessTestCase {
    private let groups = (1...12).map { "#team\($0)" }
    private var database: PostgresServer?

    override func tearDown() {
        super.tearDown()  // the relays first, then their database
        database?.stop()
    }

    /// examples/cluster/haproxy.cfg with loopback addresses: the frontend on
    /// `frontend`, and the relays on their ports with /healthz on their metrics ports.
    private func haproxyConfiguration(frontend: Int, relays: [(port: Int, metrics: Int)]) throws -> String {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/cluster/haproxy.cfg")
        var lines = try String(contentsOf: example, encoding: .utf8).components(separatedBy: "\n")
        lines = lines.map { $0.trimmingCharacters(in: .whitespaces) == "bind :39453" ? "    bind 127.0.0.1:\(frontend)" : $0 }
        let servers = lines.indices.filter { lines[$0].trimmingCharacters(in: .whitespaces).hasPrefix("server relay") }
        XCTAssertEqual(servers.count, relays.count, "the example has one server line per relay")
        for (index, line) in zip(relays.indices, servers) {
            lines[line] = "    server relay\(index + 1) 127.0.0.1:\(relays[index].port) check port \(relays[index].metrics)"
        }
        return lines.joined(separator: "\n")
    }

    /// The relay's p22p_relay_groups gauge, from its /metrics.
    private func groupCount(metricsPort: Int) -> Int? {
        guard let connection = try? TCPConnection.connect(port: metricsPort) else { return nil }
        defer { connection.close() }
        guard (try? connection.send(Array("GET /metrics HTTP/1.0\r\n\r\n".utf8))) != nil else { return nil }
        var response: [UInt8] = []
        while let chunk = try? connection.receive(), !chunk.isEmpty { response += chunk }
        let line = String(decoding: response, as: UTF8.self).components(separatedBy: "\n").first { $0.hasPrefix("p22p_relay_groups ") }
        return line.flatMap { Double($0.split(separator: " ")[1]) }.map { Int($0) }
    }

    func testGroupsSpreadOverRelaysAndSurviveTheLossOfOne() async throws {
        let haproxy = try Self.installed("haproxy")
        let database = try PostgresServer()
        self.database = database
        try await database.start()
        try database.createDatabase()
        var relays: [(process: RelayProcess, metrics: Int)] = []
        // All members come from 127.0.0.1 here: the per-address limits are raised.
        let relayArguments = { (metrics: Int) in
            ["--metrics", "127.0.0.1:\(metrics)", "--trusted-proxy", "127.0.0.1/32", "--groups-per-minute", "1000",
             "--max-connections-per-address", "1000", "--state", database.url(),
             "--reservations-per-hour", "1000", "--reservations-per-address", "1000"]
        }
        for _ in 0..<3 {
            let metrics = try freePort()
            relays.append((try await startRelay(relayArguments(metrics)), metrics))
        }
        let frontend = try freePort()
        let profiles = try profiles()
        let configuration = try profiles.write("haproxy.cfg", try haproxyConfiguration(
            frontend: frontend, relays: relays.map { ($0.process.port, $0.metrics) }))
        let balancer = try ToolProcess(executable: haproxy, ["-db", "-f", configuration])
        adopt(balancer)

        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let server = "ws://127.0.0.1:\(frontend)"
        // Each name is reserved through the balancer, so by the relay its path
        // leads to, once the balancer listens.
        let listening = Date().addingTimeInterval(10)
        while (try? TCPConnection.connect(port: frontend))?.close() == nil, Date() < listening {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let reservations = try groups.map { group in
            try ToolProcess("p22p", ["reserve", group, "--out", profiles.directory.appendingPathComponent("\(group.dropFirst()).key").path,
                                     "--server", server])
        }
        for reservation in reservations {
            adopt(reservation)
            let status = try await reservation.waitForExit(timeout: 30)
            XCTAssertEqual(status, 0, reservation.output)
        }
        let reconnect = "reconnect: { initial_delay: 200ms, max_delay: 1s }"
        let host = groups.map {
            "  - { name: \"\($0)\", password_file: group.pass, reservation: \($0.dropFirst()).key, allow: [\(echo.port)] }"
        }.joined(separator: "\n")
        let locals = try groups.map { _ in try freePort() }
        let guest = zip(groups, locals).map { group, local in
            "  - name: \"\(group)\"\n    password_file: group.pass\n    forwards: [{ listen: 127.0.0.1:\(local), peer: host, target: \(echo.port) }]"
        }.joined(separator: "\n")
        let hostDaemon = try ToolProcess("p22p-up", [try profiles.write("host.yaml", "server: \(server)\nname: host\n\(reconnect)\ngroups:\n\(host)\n")])
        adopt(hostDaemon)
        let guestProfile = try profiles.write("guest.yaml", "server: \(server)\nname: guest\n\(reconnect)\ngroups:\n\(guest)\n")
        let guestDaemon = try ToolProcess("p22p-up", [guestProfile])
        adopt(guestDaemon)

        do {
            for local in locals { try await waitUntilForwarding(port: local, timeout: 60) }
        } catch {
            XCTFail("host:\n\(hostDaemon.output.suffix(3000))\nguest:\n\(guestDaemon.output.suffix(3000))\n"
                    + relays.map { "relay:\n\($0.process.tool.output.suffix(3000))" }.joined(separator: "\n"))
            throw error
        }
        let counts = relays.map { groupCount(metricsPort: $0.metrics) ?? 0 }
        XCTAssertEqual(counts.reduce(0, +), groups.count, "each group is on exactly one relay: \(counts)")
        XCTAssertGreaterThanOrEqual(counts.filter { $0 > 0 }.count, 2, "the groups spread over the relays: \(counts)")

        let busiest = counts.indices.max { counts[$0] < counts[$1] }!
        relays[busiest].process.tool.send(SIGKILL)
        let killed = Date()
        for local in locals {
            let left = 30 - Date().timeIntervalSince(killed)
            try await waitUntilForwarding(port: local, timeout: max(left, 0.1))
        }
        let converged = Date().timeIntervalSince(killed)
        let after = relays.indices.map { $0 == busiest ? 0 : groupCount(metricsPort: relays[$0].metrics) ?? 0 }
        print("relay cluster: groups per relay \(counts) -> \(after) after killing relay \(busiest + 1); every forward worked again after \(String(format: "%.1f", converged)) s")
        XCTAssertLessThan(converged, 30)
        XCTAssertEqual(after.reduce(0, +), groups.count, "every group is on a surviving relay: \(after)")

        // The killed relay comes back. Groups that moved stay where they are
        // (the example's stick table): a guest that reconnects now finds the
        // host on the relay it moved to, not alone on the one that returned.
        let returned = try ToolProcess("p22p-server", ["--listen", "127.0.0.1:\(relays[busiest].process.port)"]
                                                      + relayArguments(relays[busiest].metrics))
        adopt(returned)
        try await returned.waitForLine(containing: "relay listening")
        try await balancer.waitForLine(containing: "Server relays/relay\(busiest + 1) is UP")
        guestDaemon.stop()
        adopt(try ToolProcess("p22p-up", [guestProfile]))
        for local in locals { try await waitUntilForwarding(port: local, timeout: 60) }
        let settled = relays.indices.map { groupCount(metricsPort: relays[$0].metrics) ?? 0 }
        XCTAssertEqual(settled.reduce(0, +), groups.count, "no group is split over two relays: \(settled)")
    }
}
