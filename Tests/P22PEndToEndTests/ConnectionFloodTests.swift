import Foundation
import XCTest

/// `--max-connections-per-address` behind a trusted proxy, with a real relay
/// process: one address floods it, everyone else goes on.
final class ConnectionFloodTests: ProcessTestCase {
    /// Sends a PROXY v1 header naming `client`, as a load balancer in front of
    /// the relay would, then a WebSocket upgrade request; returns the
    /// connection and whether the relay answered 101 (false: it closed it).
    /// With `forwardedFor`, the client is named in X-Forwarded-For instead.
    private func proxiedUpgrade(claiming client: String, relayPort: Int, forwardedFor: Bool = false) throws -> (TCPConnection, upgraded: Bool) {
        let connection = try TCPConnection.connect(port: relayPort, timeoutSeconds: 10)
        let request = (forwardedFor ? "" : "PROXY TCP4 \(client) 127.0.0.1 40000 \(relayPort)\r\n")
            + "GET /v1/0123456789abcdef HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + (forwardedFor ? "X-Forwarded-For: 192.0.2.99, \(client)\r\n" : "")
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: p22p.v1\r\n\r\n"
        try connection.send(Array(request.utf8))
        var response: [UInt8] = []
        // Ends with the response head, or with EOF or a reset when refused.
        while !response.ends(with: Array("\r\n\r\n".utf8)), let byte = try? connection.receive(max: 1), !byte.isEmpty { response += byte }
        return (connection, String(decoding: response, as: UTF8.self).hasPrefix("HTTP/1.1 101"))
    }

    func testConnectionFloodFromOneAddress() async throws {
        let limit = 4
        let relay = try await startRelay(["--max-connections-per-address", "\(limit)", "--trusted-proxy", "127.0.0.1/32",
                                          "--auth-timeout", "120"])
        // (a) The flood, held open: the relay serves `limit` connections
        // from 203.0.113.7 and closes the rest as soon as it reads their header.
        var flood: [TCPConnection] = []
        defer { for connection in flood { connection.close() } }
        var upgraded = 0
        for _ in 0..<(limit + 6) {
            let (connection, accepted) = try proxiedUpgrade(claiming: "203.0.113.7", relayPort: relay.port)
            flood.append(connection)
            if accepted { upgraded += 1 }
        }
        XCTAssertEqual(upgraded, limit, "connections beyond the limit are refused")

        // (b) The relay says why, naming the address, the limit and the option.
        let line = try await relay.tool.waitForLine(containing: "refusing connection")
        XCTAssertTrue(line.contains("203.0.113.7 already has \(limit) connections open, the most this relay allows per address"), line)
        XCTAssertTrue(line.contains("--max-connections-per-address"), line)
        XCTAssertTrue(line.contains("notice"), line)
        XCTAssertEqual(relay.tool.output.components(separatedBy: "refusing connection").count - 1, 1,
                       "a flood is logged once per 10 s, not once per connection")

        // (c) Other addresses are not held up: another proxied client is let
        // in, and real members (from 127.0.0.1, the trusted proxy itself,
        // without a header) create, join and forward bytes intact.
        let (other, otherUpgraded) = try proxiedUpgrade(claiming: "198.51.100.9", relayPort: relay.port)
        other.close()
        XCTAssertTrue(otherUpgraded, "198.51.100.9 is not limited by 203.0.113.7's connections")
        // The same holds for clients a trusted proxy names in X-Forwarded-For.
        let (forwarded, forwardedUpgraded) = try proxiedUpgrade(claiming: "203.0.113.7", relayPort: relay.port, forwardedFor: true)
        forwarded.close()
        XCTAssertFalse(forwardedUpgraded, "203.0.113.7 is at its limit however a proxy names it")
        let (forwardedOther, forwardedOtherUpgraded) = try proxiedUpgrade(claiming: "198.51.100.10", relayPort: relay.port, forwardedFor: true)
        forwardedOther.close()
        XCTAssertTrue(forwardedOtherUpgraded)

        let echo = try echoServer()
        let pw = try passwordFile("flood pass")
        let host = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host", "--password-file", pw,
                                    "--allow", "127.0.0.1:\(echo.port)"])
        try await host.waitForLine(containing: "created group demo as host")
        let guest = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "guest", "--password-file", pw,
                                     "--relay", "host:0:\(echo.port)"])
        try await guest.waitForLine(containing: "joined group demo as guest")
        let forward = try await guest.waitForLine(containing: "to host 127.0.0.1:\(echo.port)")
        let port = try XCTUnwrap(Int(forward.components(separatedBy: "127.0.0.1:")[1].split(separator: " ")[0]))
        let message = randomBytes(200_000)
        XCTAssertEqual(try roundTrip(port: port, message: message), message)

        // Once the flood ends its connections, 203.0.113.7 is welcome again.
        for connection in flood { connection.close() }
        flood.removeAll()
        var welcome = false
        let deadline = Date().addingTimeInterval(10)
        while !welcome, Date() < deadline {
            let (connection, accepted) = try proxiedUpgrade(claiming: "203.0.113.7", relayPort: relay.port)
            connection.close()
            welcome = accepted
            if !welcome { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        XCTAssertTrue(welcome, "closed connections free their places")
    }
}
