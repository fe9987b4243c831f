import Foundation
import NIOSSL
import P22PClient
import P22PWire
import XCTest

/// What it takes to leave a relay running on the internet: limits, TLS, a
/// clean shutdown.
final class RelayDeploymentTests: ProcessTestCase {
    func testFailedJoinsAreRateLimitedPerAddress() async throws {
        let cluster = try await Cluster { $0.failedJoinsPerMinute = 3 }
        defer { Task { await cluster.shutdown() } }
        _ = try await cluster.member("host", mode: .create)
        for attempt in 0..<3 {
            do {
                _ = try await cluster.member("guess\(attempt)", password: "guess \(attempt)")
                XCTFail("a wrong password was accepted")
            } catch MemberError.refused(let code, _) {
                XCTAssertEqual(code, .wrongPassword)
            }
        }
        // Even the right password is refused from this address for a while.
        do {
            _ = try await cluster.member("honest")
            XCTFail("joins were not rate limited")
        } catch MemberError.refused(let code, let message) {
            XCTAssertEqual(code, .rateLimited)
            XCTAssertTrue(message.contains("too many failed joins"), message)
        }
    }

    func testGroupAndMemberLimits() async throws {
        let cluster = try await Cluster { configuration in
            configuration.maxGroups = 2
            configuration.maxMembersPerGroup = 2
        }
        defer { Task { await cluster.shutdown() } }
        _ = try await cluster.member("a", mode: .create)
        _ = try await cluster.member("b")
        do {
            _ = try await cluster.member("c")
            XCTFail("a third member joined a group limited to two")
        } catch MemberError.refused(let code, let message) {
            XCTAssertEqual(code, .groupFull)
            XCTAssertEqual(message, "group demo is full")
        }
        _ = try await cluster.member("d", mode: .create, group: "second")
        do {
            _ = try await cluster.member("e", mode: .create, group: "third")
            XCTFail("a third group was created on a relay limited to two")
        } catch MemberError.refused(let code, _) {
            XCTAssertEqual(code, .tooManyGroups)
        }
    }

    /// SIGTERM: the relay stops accepting, tells members it is going away,
    /// and is gone within 5 s; members hear why at once. A member started
    /// with --no-reconnect exits; one without it reconnects at once, with no
    /// backoff, since the relay said it was going away.
    func testGracefulShutdownTellsMembers() async throws {
        let relay = try await startRelay()
        let member = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host", "--no-reconnect"], environment: ["P22P_PASSWORD": "pw"])
        try await member.waitForLine(containing: "created group demo")
        let staying = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "guest"], environment: ["P22P_PASSWORD": "pw"])
        try await staying.waitForLine(containing: "joined group demo")
        let started = Date()
        relay.tool.send(SIGTERM)
        let status = try await relay.tool.waitForExit(timeout: 5)
        XCTAssertEqual(status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        let memberStatus = try await member.waitForExit(timeout: 3)
        XCTAssertEqual(memberStatus, 1)
        XCTAssertTrue(member.standardError.contains("relay shutting down"), member.standardError)
        XCTAssertThrowsError(try TCPConnection.connect(port: relay.port), "the relay no longer accepts")
        try await staying.waitForLine(containing: "relay shutting down; reconnecting in")
        XCTAssertTrue(staying.process.isRunning, "without --no-reconnect the member stays")
    }

    /// The relay serves wss:// itself; clients verify it against a CA made
    /// for the test, and refuse it without that CA.
    func testRelayServesTLS() async throws {
        let certificates = try TestCertificates()
        let relay = try await startRelay(["--tls-cert", certificates.certificateFile, "--tls-key", certificates.keyFile])
        let url = "wss://127.0.0.1:\(relay.port)"
        let env = ["P22P_PASSWORD": "pw"]
        let host = try run("p22p", ["create", "demo", "--server", url, "--name", "host", "--ca-file", certificates.caFile], environment: env)
        try await host.waitForLine(containing: "created group demo as host")
        let peers = try run("p22p", ["peers", "demo", "--server", url, "--ca-file", certificates.caFile], environment: env)
        let peersStatus = try await peers.waitForExit()
        XCTAssertEqual(peersStatus, 0, peers.output)
        XCTAssertTrue(peers.output.contains("1\thost"))
        let stranger = try run("p22p", ["peers", "demo", "--server", url], environment: env)
        let strangerStatus = try await stranger.waitForExit()
        XCTAssertEqual(strangerStatus, 2)
        XCTAssertTrue(stranger.standardError.contains("certificate is not trusted"), stranger.standardError)
        let plain = try run("p22p", ["peers", "demo", "--server", "ws://127.0.0.1:\(relay.port)"], environment: env)
        let plainStatus = try await plain.waitForExit()
        XCTAssertNotEqual(plainStatus, 0, "plain ws:// to a TLS relay must fail, not downgrade")
    }

    /// A relay whose certificate has run out: the member names the host and
    /// the day it expired, instead of a generic "not trusted".
    func testAnExpiredRelayCertificateIsNamedWithItsDate() async throws {
        let certificates = try TestCertificates(serverDays: -1)
        let relay = try await startRelay(["--tls-cert", certificates.certificateFile, "--tls-key", certificates.keyFile])
        let member = try run("p22p", ["peers", "demo", "--server", "wss://127.0.0.1:\(relay.port)", "--ca-file", certificates.caFile],
                             environment: ["P22P_PASSWORD": "pw"])
        let status = try await member.waitForExit()
        XCTAssertEqual(status, 2)
        // The date the certificate itself carries, as the message writes it.
        let expiry = try XCTUnwrap(NIOSSLCertificate.fromPEMFile(certificates.certificateFile).first).notValidAfter
        XCTAssertLessThan(expiry, time(nil), "the test needs an expired certificate")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let shown = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(expiry)))
        XCTAssertTrue(member.standardError.contains("TLS: the certificate of 127.0.0.1 expired on \(shown) UTC; "), member.standardError)
        XCTAssertTrue(member.standardError.contains("must renew it"), member.standardError)
    }

    /// Each bad file is named, so the user knows which one to fix.
    func testBadTLSFilesAreAClearError() async throws {
        let certificates = try TestCertificates()
        let cases: [(certificate: String, key: String, expected: String)] = [
            ("/nonexistent.pem", certificates.keyFile, "p22p-server: cannot read the TLS certificate /nonexistent.pem"),
            (certificates.certificateFile, "/nonexistent.key", "p22p-server: cannot read the TLS key /nonexistent.key"),
            (certificates.certificateFile, certificates.directory.appendingPathComponent("ca.key").path,
             "p22p-server: the TLS certificate \(certificates.certificateFile) and key"),
        ]
        for (certificate, key, expected) in cases {
            let tool = try run("p22p-server", ["--listen", "127.0.0.1:0", "--tls-cert", certificate, "--tls-key", key])
            let status = try await tool.waitForExit()
            XCTAssertEqual(status, 1)
            XCTAssertTrue(tool.standardError.hasPrefix(expected), tool.standardError)
        }
    }
}

extension RelayDeploymentTests {
    /// Prometheus text at /metrics and a health check at /healthz, with JSON logs.
    func testMetricsAndHealth() async throws {
        let metricsPort = try freePort()
        let relay = try await startRelay(["--metrics", "127.0.0.1:\(metricsPort)", "--log-format", "json"])
        let env = ["P22P_PASSWORD": "pw"]
        let host = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host"], environment: env)
        try await host.waitForLine(containing: "created group demo")
        let intruder = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "x"], environment: ["P22P_PASSWORD": "wrong"])
        _ = try await intruder.waitForExit()

        func get(_ path: String) throws -> String {
            let connection = try TCPConnection.connect(port: metricsPort)
            defer { connection.close() }
            try connection.send(Array("GET \(path) HTTP/1.0\r\n\r\n".utf8))
            var response: [UInt8] = []
            while let chunk = try? connection.receive(), !chunk.isEmpty { response += chunk }
            return String(decoding: response, as: UTF8.self)
        }
        let metrics = try get("/metrics")
        XCTAssertTrue(metrics.contains("p22p_relay_groups 1"), metrics)
        XCTAssertTrue(metrics.contains("p22p_relay_members 1"), metrics)
        XCTAssertTrue(metrics.contains("p22p_relay_connections 1"), metrics)
        XCTAssertTrue(metrics.contains("p22p_relay_refusals_total{reason=\"wrongPassword\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("p22p_relay_frames_relayed_total"), metrics)
        XCTAssertTrue(try get("/healthz").hasSuffix("\r\n\r\nok\n"))
        for line in relay.tool.output.split(separator: "\n") {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), "not JSON: \(line)")
        }
    }
}

extension RelayDeploymentTests {
    /// A member at its stream limit gets the next open refused by the relay,
    /// with a reason; once a stream ends it can open another.
    func testStreamLimitPerMember() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let cluster = try await Cluster { $0.maxStreamsPerMember = 2 }
        defer { Task { await cluster.shutdown() } }
        let (_, _, port) = try await cluster.pair(allow: ["\(echo.port)"], target: echo.port)
        let first = try TCPConnection.connect(port: port)
        let second = try TCPConnection.connect(port: port)
        defer { second.close() }
        for connection in [first, second] {
            try connection.send(Array("hi".utf8))
            XCTAssertEqual(try connection.receive(exactly: 2), Array("hi".utf8))
        }
        let third = try TCPConnection.connect(port: port)
        defer { third.close() }
        try third.send(Array("hi".utf8))
        // Closed (with a reset, as the bytes it sent were never read), never carried.
        XCTAssertEqual((try? third.receive()) ?? [], [], "the third stream must not be carried")
        _ = try await cluster.events.wait(for: "guest") {
            if case .streamRefused(_, _, let reason) = $0 { return reason.contains("too many open streams") }
            return false
        }
        first.close()
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(try roundTrip(port: port, message: Array("again".utf8)), Array("again".utf8))
    }
}

extension RelayDeploymentTests {
    /// TLS 1.0 and 1.1 are refused at both ends (RFC 8996): the relay does
    /// not finish a TLS 1.1 handshake, and a member does not talk to a
    /// relay that offers nothing newer.
    func testTLSBelowOnePointTwoIsRefused() async throws {
        let certificates = try TestCertificates()
        let relay = try await startRelay(["--tls-cert", certificates.certificateFile, "--tls-key", certificates.keyFile])
        // OpenSSL 3 offers TLS 1.1 only at security level 0.
        let legacy = ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["openssl", "s_client", "-connect", "127.0.0.1:\(relay.port)"] + legacy
        let output = Pipe()
        client.standardInput = FileHandle.nullDevice
        client.standardOutput = output
        client.standardError = output
        try client.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        XCTAssertNotEqual(client.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("Cipher is (NONE)") && text.contains("alert protocol version"),
                      "the relay must end a TLS 1.1 handshake with a protocol-version alert:\n\(text)")

        let oldServerPort = try freePort()
        let oldServer = Process()
        oldServer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        oldServer.arguments = ["openssl", "s_server", "-accept", "127.0.0.1:\(oldServerPort)", "-quiet",
                               "-cert", certificates.certificateFile, "-key", certificates.keyFile] + legacy
        oldServer.standardInput = FileHandle.nullDevice
        oldServer.standardOutput = FileHandle.nullDevice
        oldServer.standardError = FileHandle.nullDevice
        try oldServer.run()
        // SIGKILL: the test process blocks SIGTERM on its threads, and a
        // child started from one inherits that mask and would outlive the test.
        defer {
            kill(oldServer.processIdentifier, SIGKILL)
            oldServer.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(10)
        while (try? TCPConnection.connect(port: oldServerPort, timeoutSeconds: 1))?.close() == nil, Date() < deadline {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let member = try run("p22p", ["peers", "demo", "--server", "wss://127.0.0.1:\(oldServerPort)", "--ca-file", certificates.caFile],
                             environment: ["P22P_PASSWORD": "pw"])
        let status = try await member.waitForExit()
        XCTAssertEqual(status, 2, member.output)
        XCTAssertTrue(member.standardError.contains("TLS"), member.standardError)
    }
}
