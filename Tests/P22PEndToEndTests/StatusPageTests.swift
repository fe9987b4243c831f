import Foundation
import P22PDaemon
import XCTest

/// The daemon's status endpoint as a user meets it: 4 MiB through a forward,
/// then `p22p-up status`, /status.json, /metrics and the page in a real
/// browser all show the group, the peer, the forward and its bytes.
final class StatusPageTests: ProcessTestCase {
    private static let fourMiB = 4 << 20

    /// A host, and a guest with one forward to an echo server and its status
    /// endpoint at `status`; returns the guest's profile and forward port.
    private func daemons(status: String) async throws -> (guest: String, host: String, local: Int, echo: Int) {
        let relay = try await startRelay()
        let echo = try echoServer()
        let profiles = try profiles()
        let local = try freePort()
        let host = try profiles.write("host.yaml", Profiles.host(server: relay.url, allow: echo.port))
        let guest = try profiles.write("guest.yaml", Profiles.guest(server: relay.url, forwards: [(local, echo.port)],
                                                                     extra: "status: { listen: \(status) }"))
        try run("p22p-up", [host])
        let daemon = try run("p22p-up", [guest])
        try await daemon.waitForLine(containing: "status at ")
        try await waitUntilForwarding(port: local)
        return (guest, host, local, echo.port)
    }

    private func carryFourMiB(through port: Int) throws {
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let payload = randomBytes(Self.fourMiB)
        try connection.send(payload)
        XCTAssertEqual(try connection.receive(exactly: payload.count), payload)
    }

    func testStatusCommandJSONAndMetricsShowTheForwardAndItsBytes() async throws {
        let statusPort = try freePort()
        let (guest, host, local, echo) = try await daemons(status: "127.0.0.1:\(statusPort)")
        try carryFourMiB(through: local)

        // The table: the link, the peer, the forward with its state and bytes.
        let status = try run("p22p-up", ["status", guest])
        let statusStatus = try await status.waitForExit(timeout: 10)
        XCTAssertEqual(statusStatus, 0, status.output)
        let table = status.output
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("GROUP") == true, table)
        XCTAssertTrue(lines.contains { $0.hasPrefix("home") && $0.contains("link") && $0.contains("guest (CID") && $0.contains("joined for") }, table)
        XCTAssertTrue(lines.contains { $0.contains("peer") && $0.contains("host (CID") && $0.contains("session up") }, table)
        let forwardLine = try XCTUnwrap(lines.first { $0.contains("forward") && $0.contains("127.0.0.1:\(local) -> host 127.0.0.1:\(echo)") }, table)
        XCTAssertTrue(forwardLine.contains("listening"), forwardLine)
        XCTAssertTrue(forwardLine.contains("4.0 MiB"), "4 MiB each way: \(forwardLine)")

        // The JSON, as documented.
        let json = try run("p22p-up", ["status", "--json", guest])
        let jsonStatus = try await json.waitForExit(timeout: 10)
        XCTAssertEqual(jsonStatus, 0, json.output)
        let document = try StatusDocument.decoder.decode(StatusDocument.self, from: Data(json.output.utf8))
        let group = try XCTUnwrap(document.groups.first)
        XCTAssertEqual(group.name, "home")
        XCTAssertEqual(group.link.state, "joined")
        XCTAssertEqual(group.member.name, "guest")
        XCTAssertNotNil(group.member.cid)
        XCTAssertEqual(group.peers.map(\.name), ["host"])
        XCTAssertTrue(group.peers[0].sessionUp)
        let forward = try XCTUnwrap(group.forwards.first)
        XCTAssertEqual(forward.listen, "127.0.0.1:\(local)")
        XCTAssertEqual(forward.target, "127.0.0.1:\(echo)")
        XCTAssertEqual(forward.state, "listening")
        XCTAssertGreaterThanOrEqual(forward.bytesIn, Self.fourMiB)
        XCTAssertGreaterThanOrEqual(forward.bytesOut, Self.fourMiB)
        XCTAssertEqual(forward.connectionsTotal, 2, "the readiness probe and the transfer")

        // Prometheus text for the same counters.
        let metrics = try httpGet(port: statusPort, path: "/metrics")
        XCTAssertTrue(metrics.contains("p22p_forward_bytes_total{group=\"home\",listen=\"127.0.0.1:\(local)\",peer=\"host\",protocol=\"tcp\",direction=\"in\"} \(forward.bytesIn)"), metrics)
        XCTAssertTrue(metrics.contains("p22p_group_joined{group=\"home\"} 1"), metrics)

        // A web page that points a name of its own at 127.0.0.1 reads nothing.
        XCTAssertTrue(try httpGet(port: statusPort, path: "/status.json", host: "attacker.example:\(statusPort)").hasPrefix("HTTP/1.0 403"))
        XCTAssertTrue(try httpGet(port: statusPort, path: "/status.json", host: "localhost:\(statusPort)").hasPrefix("HTTP/1.0 200"))

        // Without an endpoint, or without a daemon, it says so and exits 1.
        let none = try run("p22p-up", ["status", host])
        let noneStatus = try await none.waitForExit(timeout: 10)
        XCTAssertEqual(noneStatus, 1)
        XCTAssertTrue(none.standardError.contains("has no status endpoint; add `status: { listen: 127.0.0.1:PORT }`"), none.standardError)
        let closed = try freePort()
        let stopped = try profiles().write("stopped.yaml", Profiles.host(server: "ws://127.0.0.1:9", allow: 9, extra: "status: { listen: 127.0.0.1:\(closed) }"))
        let nobody = try run("p22p-up", ["status", stopped])
        let nobodyStatus = try await nobody.waitForExit(timeout: 10)
        XCTAssertEqual(nobodyStatus, 1)
        XCTAssertTrue(nobody.standardError.contains("no p22p-up answers on 127.0.0.1:\(closed) (nothing listens there)"), nobody.standardError)
    }

    func testTheStatusEndpointCanBeAUnixSocket() async throws {
        let socket = try profiles().directory.appendingPathComponent("status.sock").path
        let (guest, _, local, _) = try await daemons(status: socket)
        try carryFourMiB(through: local)
        let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600, "only its user may ask")
        let status = try run("p22p-up", ["status", guest])
        let statusStatus = try await status.waitForExit(timeout: 10)
        XCTAssertEqual(statusStatus, 0, status.output)
        XCTAssertTrue(status.output.contains("4.0 MiB"), status.output)

        // A second daemon with the same socket does not take it over.
        let second = try run("p22p-up", [guest])
        let secondStatus = try await second.waitForExit(timeout: 10)
        XCTAssertEqual(secondStatus, 1)
        XCTAssertTrue(second.standardError.contains("cannot serve status on \(socket): another p22p-up answers there"), second.standardError)
    }

    /// The page in headless Chromium (Debian's chromium package): after a
    /// short virtual-time budget, its DOM shows the forward and its peer,
    /// drawn by the page's own script. A screenshot is kept for people.
    func testThePageRendersInABrowser() async throws {
        let chromium = try Self.installed("chromium")
        let statusPort = try freePort()
        let (_, _, local, echo) = try await daemons(status: "127.0.0.1:\(statusPort)")
        try carryFourMiB(through: local)
        let url = "http://127.0.0.1:\(statusPort)/"
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                      "--user-data-dir=\(try profiles().directory.appendingPathComponent("chromium").path)", "--virtual-time-budget=3000"]
        let dump = try ToolProcess(executable: chromium, common + ["--dump-dom", url])
        adopt(dump)
        let dumpStatus = try await dump.waitForExit(timeout: 60)
        XCTAssertEqual(dumpStatus, 0, dump.standardError)
        let dom = dump.output
        XCTAssertTrue(dom.contains("<td>127.0.0.1:\(local)</td>"), "the forward's listen address, in a table cell the script drew:\n" + dom.suffix(3000))
        XCTAssertTrue(dom.contains("<td>host 127.0.0.1:\(echo)</td>"), String(dom.suffix(3000)))
        XCTAssertTrue(dom.contains("<td>host</td>"), "the peer")
        XCTAssertTrue(dom.contains("<svg class=\"spark\""), "a sparkline")
        let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-status-page.png").path
        let shot = try ToolProcess(executable: chromium, common + ["--window-size=1100,420", "--screenshot=\(screenshot)", url])
        adopt(shot)
        let shotStatus = try await shot.waitForExit(timeout: 60)
        XCTAssertEqual(shotStatus, 0, shot.standardError)
        let size = try FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int ?? 0
        XCTAssertGreaterThan(size, 5000, "a screenshot at \(screenshot)")
        print("status page screenshot: \(screenshot)")
    }

    private func httpGet(port: Int, path: String, host: String? = nil) throws -> String {
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("GET \(path) HTTP/1.0\r\n\(host.map { "Host: \($0)\r\n" } ?? "")\r\n".utf8))
        var response: [UInt8] = []
        while let chunk = try? connection.receive(), !chunk.isEmpty { response += chunk }
        return String(decoding: response, as: UTF8.self)
    }
}
