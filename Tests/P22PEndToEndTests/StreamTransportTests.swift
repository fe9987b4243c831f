import Foundation
import XCTest

/// Members on plain TCP (tcp://) and TLS (tls://) links to a relay's
/// `--listen-tcp` port: real relay and member processes, real echo targets.
final class StreamTransportTests: ProcessTestCase {
    /// A relay with a WebSocket port and a stream port; `extra` adds flags.
    private func relayWithStreamPort(_ extra: [String] = []) async throws -> (relay: RelayProcess, streamPort: Int) {
        let streamPort = try freePort()
        let relay = try await startRelay(["--listen-tcp", "127.0.0.1:\(streamPort)"] + extra)
        try await relay.tool.waitForLine(containing: "members address=127.0.0.1:\(streamPort)")
        return (relay, streamPort)
    }

    /// `p22p peers demo --server URL` that must fail: its exit status and
    /// what it printed to standard error.
    private func peersFailing(on url: String) async throws -> (status: Int32?, error: String) {
        let tool = try run("p22p", ["peers", "demo", "--server", url], environment: ["P22P_PASSWORD": "pw"])
        let status = try await tool.waitForExit()
        return (status, tool.standardError)
    }

    /// Host and guest join on the given relay URLs; a forward from the guest
    /// to an echo server beside the host carries several streams at once,
    /// every byte intact.
    private func forward(hostURL: String, guestURL: String, extra: [String] = []) async throws {
        let echo = try echoServer()
        let localPort = try freePort()
        let env = ["P22P_PASSWORD": "pw"]
        let host = try run("p22p", ["create", "demo", "--server", hostURL, "--name", "host", "--allow", "\(echo.port)"] + extra, environment: env)
        try await host.waitForLine(containing: "created group demo")
        let guest = try run("p22p", ["join", "demo", "--server", guestURL, "--name", "guest",
                                     "--relay", "host:\(localPort):\(echo.port)"] + extra, environment: env)
        try await guest.waitForLine(containing: "joined group demo")
        try await waitUntilForwarding(port: localPort)
        let failures = await concurrentEchoes(port: localPort, sizes: [1, 1000, 300 << 10, 4 << 20, 9 << 20, 1 << 16], timeoutSeconds: 120)
        XCTAssertEqual(failures, [])
    }

    func testForwardOverPlainTCP() async throws {
        let (relay, streamPort) = try await relayWithStreamPort()
        try await forward(hostURL: "tcp://127.0.0.1:\(streamPort)", guestURL: "tcp://127.0.0.1:\(streamPort)")
        let admissions = relay.tool.output.split(separator: "\n").filter { $0.contains("member created group") || $0.contains("member joined") }
        XCTAssertEqual(admissions.count, 2, relay.tool.output)
    }

    /// tls:// on the stream port, checked against the test's CA; without
    /// the CA the certificate is refused, and nothing falls back to tcp://.
    func testForwardOverTLS() async throws {
        let certificates = try TestCertificates()
        let (_, streamPort) = try await relayWithStreamPort(["--tls-cert", certificates.certificateFile, "--tls-key", certificates.keyFile])
        let url = "tls://127.0.0.1:\(streamPort)"
        try await forward(hostURL: url, guestURL: url, extra: ["--ca-file", certificates.caFile])

        let stranger = try await peersFailing(on: url)
        XCTAssertEqual(stranger.status, 2, stranger.error)
        XCTAssertTrue(stranger.error.contains("certificate is not trusted"), stranger.error)
        let plain = try await peersFailing(on: "tcp://127.0.0.1:\(streamPort)")
        XCTAssertEqual(plain.status, 2, "plain tcp:// to a TLS port must fail, not downgrade: \(plain.error)")
        XCTAssertTrue(plain.error.contains("answered in TLS: the relay serves tls:// there (--tls-cert); use tls://127.0.0.1:\(streamPort)"), plain.error)
    }

    /// One member on a WebSocket, the other on plain TCP, in one group; a
    /// third joins with the command loop's `connect tcp://` and reaches both.
    func testWebSocketAndTCPMembersShareAGroup() async throws {
        let (relay, streamPort) = try await relayWithStreamPort()
        try await forward(hostURL: "tcp://127.0.0.1:\(streamPort)", guestURL: relay.url)
        let loop = try run("p22p", ["--name", "third"], environment: ["P22P_PASSWORD": "pw"], interactive: true)
        try await loop.waitForLine(containing: "type help")
        try await loop.command("connect tcp://127.0.0.1:\(streamPort)", expect: "connected to tcp://127.0.0.1:\(streamPort)")
        try await loop.command("join demo", expect: "joined group demo as third")
        try await loop.command("ping host", expect: "ms")
        try await loop.command("ping guest", expect: "ms")
    }

    /// The wrong port for the scheme is named as such, with the fix, and
    /// the relay logs what knocked on its stream port.
    func testWrongPortForTheSchemeIsAClearError() async throws {
        let (relay, streamPort) = try await relayWithStreamPort()
        let tcpToWebSocket = try await peersFailing(on: "tcp://127.0.0.1:\(relay.port)")
        XCTAssertEqual(tcpToWebSocket.status, 2, tcpToWebSocket.error)
        XCTAssertTrue(tcpToWebSocket.error.contains("it is a WebSocket port; use ws:// or wss://"), tcpToWebSocket.error)

        let webSocketToTCP = try await peersFailing(on: "ws://127.0.0.1:\(streamPort)")
        XCTAssertEqual(webSocketToTCP.status, 1, "a relay that answers and refuses, as for any refused upgrade: \(webSocketToTCP.error)")
        XCTAssertTrue(webSocketToTCP.error.contains("this port takes tcp:// members; WebSockets go to the relay's --listen port"), webSocketToTCP.error)
        try await relay.tool.waitForLine(containing: "a WebSocket request on the tcp:// port: it began with \"GET /v1/")

        // A member of another protocol version is told why, in a close frame it can read.
        let stranger = try TCPConnection.connect(port: streamPort)
        defer { stranger.close() }
        try stranger.send(Array("p22p.v9 0123456789abcdef\n".utf8))
        let header = try stranger.receive(exactly: 5)
        XCTAssertEqual(header[0], 0x08, "a close frame")
        let length = header[1...4].reduce(0) { $0 << 8 | Int($1) }
        let close = try stranger.receive(exactly: length)
        XCTAssertEqual(close.prefix(2), [0x03, 0xEA], "close code 1002")
        XCTAssertEqual(String(decoding: close.dropFirst(2), as: UTF8.self), "this relay speaks p22p.v1; upgrade the older of the two")

        let missingPort = try await peersFailing(on: "tcp://127.0.0.1")
        XCTAssertNotEqual(missingPort.status, 0)
        XCTAssertTrue(missingPort.error.contains("tcp://HOST:PORT (the relay's --listen-tcp port)"), missingPort.error)
    }

    /// Daemons whose profiles name a tcp:// relay: a connection open through
    /// the forward survives the relay killed with SIGKILL and restarted on
    /// the same ports, as it does over ws://.
    func testDaemonsOnTCPKeepAConnectionAcrossARelayRestart() async throws {
        let echo = try echoServer()
        let webSocketPort = try freePort()
        let streamPort = try freePort()
        let relayArguments = ["--listen-tcp", "127.0.0.1:\(streamPort)"]
        var relay = try await self.relay(onPort: webSocketPort, relayArguments)
        try await relay.waitForLine(containing: "listening for tcp:// members")
        let server = "tcp://127.0.0.1:\(streamPort)"
        let localPort = try freePort()
        _ = try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: server, allow: echo.port))])
        let guest = try run("p22p-up", [try profiles().write("guest.yaml", Profiles.guest(server: server, forwards: [(localPort, echo.port)]))])
        try await waitUntilForwarding(port: localPort)
        let connection = try TCPConnection.connect(port: localPort, timeoutSeconds: 30)
        defer { connection.close() }
        let before = randomBytes(4096)
        try connection.send(before)
        XCTAssertEqual(try connection.receive(exactly: before.count), before)

        relay.send(SIGKILL)
        _ = try await relay.waitForExit()
        try await guest.waitForLine(containing: "wait for it to come back")
        relay = try await self.relay(onPort: webSocketPort, relayArguments)
        let after = randomBytes(4096)
        try connection.send(after)
        XCTAssertEqual(try connection.receive(exactly: after.count), after, "the same connection carries bytes after the restart")
    }
}
