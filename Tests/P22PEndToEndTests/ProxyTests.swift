import Foundation
import XCTest

/// Members that may reach the relay only through a proxy: real tinyproxy
/// (HTTP CONNECT) and microsocks (SOCKS5) processes from Debian's packages,
/// a real relay and real members.
final class ProxyTests: ProcessTestCase {
    /// tinyproxy on a free port; `extra` adds configuration lines.
    private func tinyproxy(extra: String = "") async throws -> (process: ToolProcess, port: Int) {
        let executable = try Self.installed("tinyproxy")
        let port = try freePort()
        let config = try profiles().write("tinyproxy.conf", """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            LogLevel Info
            Allow 127.0.0.1
            Bind 127.0.0.4
            \(extra)
            """)
        let process = try ToolProcess(executable: executable, ["-d", "-c", config])
        adopt(process)
        try await waitForListener(port: port)
        return (process, port)
    }

    private func microsocks(user: String, password: String) async throws -> Int {
        let executable = try Self.installed("microsocks")
        let port = try freePort()
        adopt(try ToolProcess(executable: executable, ["-i", "127.0.0.1", "-p", "\(port)", "-u", user, "-P", password, "-b", "127.0.0.3"]))
        try await waitForListener(port: port)
        return port
    }

    private func waitForListener(port: Int) async throws {
        for _ in 0..<200 {
            if let connection = try? TCPConnection.connect(port: port, timeoutSeconds: 1) {
                connection.close()
                return
            }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        throw SocketError("nothing listens on port \(port)")
    }

    /// Host and guest both join through `proxy` (one given with --proxy, the
    /// other with the environment) and the forward carries bytes. The proxy
    /// connects from `outgoing`, so the relay's log shows both came through it.
    private func forwardThrough(proxy: String, environmentVariable: String, outgoing: String) async throws {
        let echo = try echoServer()
        let relay = try await startRelay()
        let localPort = try freePort()
        let env = ["P22P_PASSWORD": "pw"]
        let host = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host", "--allow", "\(echo.port)",
                                    "--proxy", proxy], environment: env)
        try await host.waitForLine(containing: "created group demo")
        let guest = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "guest",
                                     "--relay", "host:\(localPort):\(echo.port)"], environment: env.merging([environmentVariable: proxy]) { $1 })
        try await guest.waitForLine(containing: "joined group demo")
        try await waitUntilForwarding(port: localPort)
        let payload = randomBytes(256 << 10)
        let connection = try TCPConnection.connect(port: localPort)
        defer { connection.close() }
        try connection.send(payload)
        XCTAssertEqual(try connection.receive(exactly: payload.count), payload)
        let admissions = relay.tool.output.split(separator: "\n").filter { $0.contains("member created group") || $0.contains("member joined") }
        XCTAssertEqual(admissions.count, 2, relay.tool.output)
        for line in admissions { XCTAssertTrue(line.contains(outgoing), "not through the proxy: \(line)") }
    }

    func testForwardThroughAnHTTPConnectProxy() async throws {
        let (_, port) = try await tinyproxy()
        try await forwardThrough(proxy: "http://127.0.0.1:\(port)", environmentVariable: "http_proxy", outgoing: "127.0.0.4")
    }

    func testForwardThroughASOCKS5ProxyWithAPassword() async throws {
        let port = try await microsocks(user: "p22p", password: "s3cret")
        try await forwardThrough(proxy: "socks5://p22p:s3cret@127.0.0.1:\(port)", environmentVariable: "all_proxy", outgoing: "127.0.0.3")
    }

    /// wss:// through an HTTP proxy (from https_proxy): TLS runs inside the
    /// tunnel and the relay's certificate is still checked against the CA.
    func testTLSRelayThroughAProxyIsStillVerified() async throws {
        let (_, port) = try await tinyproxy()
        let certificates = try TestCertificates()
        let relay = try await startRelay(["--tls-cert", certificates.certificateFile, "--tls-key", certificates.keyFile])
        let url = "wss://127.0.0.1:\(relay.port)"
        let env = ["P22P_PASSWORD": "pw", "https_proxy": "http://127.0.0.1:\(port)"]
        let host = try run("p22p", ["create", "demo", "--server", url, "--name", "host", "--ca-file", certificates.caFile], environment: env)
        try await host.waitForLine(containing: "created group demo as host")
        XCTAssertTrue(relay.tool.output.contains("127.0.0.4"), "through the proxy: \(relay.tool.output)")
        let stranger = try run("p22p", ["peers", "demo", "--server", url], environment: env)
        let status = try await stranger.waitForExit()
        XCTAssertEqual(status, 2, stranger.output)
        XCTAssertTrue(stranger.standardError.contains("CERTIFICATE_VERIFY_FAILED"), stranger.standardError)
    }

    /// A proxy that will not CONNECT to the relay's port: the daemon says so
    /// in the proxy's words and keeps retrying with backoff; a wrong SOCKS
    /// password is reported as such by a one-shot command (exit status 2).
    func testRefusingProxiesAreReportedClearly() async throws {
        let (_, port) = try await tinyproxy(extra: "ConnectPort 443")
        let relay = try await startRelay()
        let profile = Profiles.guest(server: relay.url, forwards: [], extra: "proxy: http://127.0.0.1:\(port)")
            .replacingOccurrences(of: "    forwards:\n", with: "")
        let daemon = try run("p22p-up", [try profiles().write("guest.yaml", profile)])
        let line = try await daemon.waitForLine(containing: "proxy 127.0.0.1:\(port) refused CONNECT: 403")
        XCTAssertTrue(line.contains("reconnecting in"), line)
        try await daemon.waitForLine(containing: "(attempt 2)")

        let socks = try await microsocks(user: "p22p", password: "right")
        let oneShot = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "guest",
                                       "--proxy", "socks5://p22p:wrong@127.0.0.1:\(socks)"], environment: ["P22P_PASSWORD": "pw"])
        let status = try await oneShot.waitForExit(timeout: 20)
        XCTAssertEqual(status, 2)
        XCTAssertTrue(oneShot.standardError.contains("proxy 127.0.0.1:\(socks) refused the user name or password"), oneShot.standardError)
    }
}
