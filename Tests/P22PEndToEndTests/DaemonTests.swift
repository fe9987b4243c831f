import Crypto
import Foundation
import NIOConcurrencyHelpers
import XCTest

/// `p22p-up` as users run it: real daemon processes with real profiles, a
/// real relay process that gets killed, real TCP programs at both ends.
final class DaemonTests: ProcessTestCase {
    private var directory: URL { get throws { try profiles().directory } }

    private func write(_ name: String, _ yaml: String) throws -> String {
        try profiles().write(name, yaml)
    }

    private func hostProfile(relayPort: Int, allow: Int, extra: String = "") -> String {
        Profiles.host(server: "ws://127.0.0.1:\(relayPort)", allow: allow, extra: extra)
    }

    private func guestProfile(relayPort: Int, forwards: [(local: Int, target: Int)]) -> String {
        Profiles.guest(server: "ws://127.0.0.1:\(relayPort)", forwards: forwards)
    }

    private func assertRoundTrip(port: Int, file: StaticString = #filePath, line: UInt = #line) {
        let message = randomBytes(5000)
        XCTAssertEqual(try roundTrip(port: port, message: message), message, file: file, line: line)
    }

    // MARK: Profiles and examples

    func testEveryExamplePassesCheck() throws {
        let examples = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("examples").path)
            .filter { $0.hasSuffix(".yaml") }
        XCTAssertTrue(examples.contains("quickstart.yaml"))
        for example in examples {
            let tool = try run("p22p-up", ["--check", repositoryRoot.appendingPathComponent("examples/\(example)").path])
            tool.process.waitUntilExit()
            XCTAssertEqual(tool.process.terminationStatus, 0, "\(example): \(tool.output)")
        }
    }

    /// The quick start's first run: the group does not exist until one of
    /// its two members creates it. That is an expected step, said at info in
    /// words about the group, never a "refused" or a warning.
    func testTheQuickStartsFirstRunReadsAsExpectedSteps() async throws {
        let echo = try echoServer()
        let (relayPort, localPort) = (try freePort(), try freePort())
        let example = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/quickstart.yaml"), encoding: .utf8)
        // Each port in its context, so no replacement can touch another's digits.
        let profile = example.replacingOccurrences(of: "127.0.0.1:18000", with: "127.0.0.1:\(localPort)")
            .replacingOccurrences(of: "127.0.0.1:39453", with: "127.0.0.1:\(relayPort)")
            .replacingOccurrences(of: "allow: [8000]", with: "allow: [\(echo.port)]")
            .replacingOccurrences(of: "target: 8000", with: "target: \(echo.port)")
        let password = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/quickstart.pass"), encoding: .utf8)
        // As in a fresh clone: the example's password file is readable by all.
        let passwordFile = try directory.appendingPathComponent("quickstart.pass").path
        XCTAssertTrue(FileManager.default.createFile(atPath: passwordFile, contents: Data(password.utf8), attributes: [.posixPermissions: 0o644]))
        let daemon = try run("p22p-up", [try write("quickstart.yaml", profile)])
        try await waitUntilForwarding(port: localPort)
        XCTAssertTrue(daemon.output.contains("group quickstart does not exist yet; creating it")
                      || daemon.output.contains("group quickstart exists; joining it"), daemon.output)
        XCTAssertFalse(daemon.output.contains("refused"), daemon.output)
        // The one warning is the password file's, once although two members use it.
        let warnings = daemon.output.split(separator: "\n").filter { $0.contains(" warning ") }
        XCTAssertEqual(warnings.count, 1, daemon.output)
        XCTAssertTrue(warnings.first?.contains("quickstart.pass of group quickstart is readable by other users; run chmod 600") ?? false, daemon.output)
    }

    func testCheckPointsAtTheMistake() async throws {
        let path = try write("typo.yaml", """
        server: ws://127.0.0.1:39453
        groups:
          - name: home
            password_file: group.pass
            forwads:
              - { listen: 2222, peer: host, target: 22 }
        """)
        let tool = try run("p22p-up", ["--check", path])
        let status = try await tool.waitForExit()
        XCTAssertEqual(status, 1)
        XCTAssertTrue(tool.standardError.hasPrefix("\(path):5:5: unknown key \"forwads\""), tool.standardError)
        XCTAssertTrue(tool.standardError.contains("did you mean \"forwards\"?"), tool.standardError)
        XCTAssertEqual(tool.standardError.split(separator: "\n").count, 1)
        XCTAssertFalse(tool.output.contains("relay listening"), "nothing may connect or listen on a bad profile")
    }

    // MARK: Reconnection

    /// The relay dies with kill -9 in the middle of a transfer and comes back
    /// 2 s later on the same port. The transfer under way goes on where it
    /// stopped, byte-exact; a connection made during the outage is served
    /// once the link and the peer are back, with no retry by its client.
    func testForwardsSurviveARelayKilledAndRestarted() async throws {
        let echo = try echoServer()
        let relayPort = try freePort()
        let localPort = try freePort()
        var relay = try run("p22p-server", ["--listen", "127.0.0.1:\(relayPort)", "--keepalive", "1"])
        try await relay.waitForLine(containing: "relay listening")
        let host = try run("p22p-up", [try write("host.yaml", hostProfile(relayPort: relayPort, allow: echo.port))])
        let guest = try run("p22p-up", [try write("guest.yaml", guestProfile(relayPort: relayPort, forwards: [(localPort, echo.port)]))])
        try await waitUntilForwarding(port: localPort)

        // A transfer is under way when the relay dies: 16 MiB sent while the
        // echo is read back and hashed.
        let busy = try TCPConnection.connect(port: localPort, timeoutSeconds: 30)
        defer { busy.close() }
        let chunks = (0..<16).map { _ in randomBytes(1 << 20) }
        let senderFailure = NIOLockedValueBox<String?>(nil)
        let sender = Thread {
            for chunk in chunks {
                do { try busy.send(chunk) } catch {
                    senderFailure.withLockedValue { $0 = "\(error)" }
                    return
                }
            }
            busy.shutdownWrite()
        }
        sender.start()
        XCTAssertEqual(try busy.receive(exactly: 1 << 20), chunks[0], "the transfer runs")
        relay.send(SIGKILL)
        _ = try await relay.waitForExit()
        try await guest.waitForLine(containing: "reconnecting in")

        // Listeners stayed bound: this connection is accepted and waits.
        let early = try TCPConnection.connect(port: localPort, timeoutSeconds: 15)
        defer { early.close() }
        try early.send(Array("made during the outage".utf8))
        try await guest.waitForLine(containing: "waits for the link to the relay")
        try await Task.sleep(nanoseconds: 2_000_000_000)

        relay = try run("p22p-server", ["--listen", "127.0.0.1:\(relayPort)", "--keepalive", "1"])
        let restarted = Date()
        XCTAssertEqual(try early.receive(exactly: 22), Array("made during the outage".utf8))
        let served = Date().timeIntervalSince(restarted)
        print("connection made during the outage served \(String(format: "%.2f", served)) s after the relay restarted")
        XCTAssertLessThan(served, 5, "guest:\n\(guest.output)\nhost:\n\(host.output)")
        try await guest.waitForLine(containing: "; serving it now")
        XCTAssertEqual(try roundTrip(port: localPort, message: Array("ping".utf8)), Array("ping".utf8))
        // The rest of the transfer arrives, exactly once and in order.
        let (received, digest) = try busy.receiveAllHashed()
        XCTAssertNil(senderFailure.withLockedValue { $0 })
        XCTAssertEqual(received, 15 << 20)
        XCTAssertEqual(digest, SHA256.hash(data: chunks.dropFirst().flatMap { $0 }))
        // Each attempt is logged with its delay.
        XCTAssertTrue(host.output.contains("reconnecting in"))
    }

    /// A connection accepted while the link is down waits at most 10 s, then
    /// is reset, with a log line saying why.
    func testConnectionWaitsTenSecondsForAnAbsentLinkThenIsReset() async throws {
        let relayPort = try freePort()
        let localPort = try freePort()
        let guest = try run("p22p-up", [try write("guest.yaml", guestProfile(relayPort: relayPort, forwards: [(localPort, 9)]))])
        try await guest.waitForLine(containing: "reconnecting in")
        let waiting = try TCPConnection.connect(port: localPort, timeoutSeconds: 20)
        defer { waiting.close() }
        let started = Date()
        XCTAssertThrowsError(try waiting.receive(), "reset, not an empty answer") { error in
            XCTAssertEqual("\(error)", "reset")
        }
        let waited = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(waited, 9)
        XCTAssertLessThan(waited, 11)
        try await guest.waitForLine(containing: "resetting connection to 127.0.0.1:\(localPort): the link to the relay did not come within 10 s")
    }

    /// A forward whose peer is not there yet waits for it, and works as soon
    /// as it joins.
    func testForwardWaitsForItsPeer() async throws {
        let echo = try echoServer()
        let relay = try await startRelay()
        let localPort = try freePort()
        let guest = try run("p22p-up", [try write("guest.yaml", guestProfile(relayPort: relay.port, forwards: [(localPort, echo.port)]))])
        try await guest.waitForLine(containing: "waiting for peer host")
        try run("p22p-up", [try write("host.yaml", hostProfile(relayPort: relay.port, allow: echo.port))])
        try await guest.waitForLine(containing: "peer host is here")
        assertRoundTrip(port: localPort)
    }

    // MARK: Logging

    func testJournalReceivesStructuredEntries() async throws {
        let journal = try DatagramReceiver()
        defer { journal.stop() }
        let relay = try await startRelay()
        let localPort = try freePort()
        try run("p22p-up", ["--log", "journal", try write("guest.yaml", guestProfile(relayPort: relay.port, forwards: [(localPort, 9)]))],
            environment: ["P22P_JOURNAL_SOCKET": journal.path])
        let forwarding = try await journal.wait(for: "MESSAGE=forwarding")
        let fields = Dictionary(forwarding.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<equals]), String(line[line.index(after: equals)...]))
        }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(fields["SYSLOG_IDENTIFIER"], "p22p-up")
        XCTAssertEqual(fields["PRIORITY"], "6")
        XCTAssertEqual(fields["P22P_GROUP"], "home")
        XCTAssertEqual(fields["P22P_FORWARD"], "127.0.0.1:\(localPort) -> host 127.0.0.1:9")
        let waiting = try await journal.wait(for: "MESSAGE=waiting for peer host")
        XCTAssertTrue(waiting.contains("P22P_PEER=host\n"), waiting)
    }

    func testMissingJournalFallsBackToStdoutWithOneWarning() async throws {
        let relay = try await startRelay()
        let up = try run("p22p-up", ["--log", "journal", try write("host.yaml", hostProfile(relayPort: relay.port, allow: 9))],
                         environment: ["P22P_JOURNAL_SOCKET": try directory.appendingPathComponent("no-such-socket").path])
        try await up.waitForLine(containing: "no systemd journal at")
        try await up.waitForLine(containing: "created group home")
    }

    func testJSONLogsAreOneObjectPerLine() async throws {
        let relay = try await startRelay()
        let up = try run("p22p-up", [try write("host.yaml", hostProfile(relayPort: relay.port, allow: 9, extra: "log: { format: json }"))])
        try await up.waitForLine(containing: "created group home")
        for line in up.output.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            XCTAssertNotNil(object?["message"], String(line))
            XCTAssertNotNil(object?["level"])
        }
    }

    // MARK: Signals and systemd

    func testReloadKeepsUnchangedForwardsAndRejectsABadProfile() async throws {
        let echo = try echoServer()
        let relay = try await startRelay()
        let notify = try DatagramReceiver()
        defer { notify.stop() }
        try run("p22p-up", [try write("host.yaml", hostProfile(relayPort: relay.port, allow: echo.port))])
        let (kept, dropped, added) = (try freePort(), try freePort(), try freePort())
        let guestPath = try write("guest.yaml", guestProfile(relayPort: relay.port, forwards: [(kept, echo.port), (dropped, echo.port)]))
        let guest = try run("p22p-up", [guestPath], environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        _ = try await notify.wait(for: "READY=1")
        _ = try await notify.wait(for: "WATCHDOG=1")
        _ = try await notify.wait(for: "STATUS=joined 1 of 1 group(s)")
        try await waitUntilForwarding(port: kept)

        let open = try TCPConnection.connect(port: kept)
        defer { open.close() }
        try open.send(Array("one".utf8))
        XCTAssertEqual(try open.receive(exactly: 3), Array("one".utf8))

        _ = try write("guest.yaml", guestProfile(relayPort: relay.port, forwards: [(kept, echo.port), (added, echo.port)]))
        guest.send(SIGHUP)
        try await guest.waitForLine(containing: "profile reloaded")
        _ = try await notify.wait(for: "RELOADING=1")
        // The open connection of the unchanged forward goes on.
        try open.send(Array("two".utf8))
        XCTAssertEqual(try open.receive(exactly: 3), Array("two".utf8))
        assertRoundTrip(port: added)
        XCTAssertThrowsError(try TCPConnection.connect(port: dropped), "the removed forward no longer listens")

        // A forward whose port is taken is reported, and tried again on the next reload.
        let blocker = try TCPTestServer { _ in }
        _ = try write("guest.yaml", guestProfile(relayPort: relay.port, forwards: [(kept, echo.port), (added, echo.port), (blocker.port, echo.port)]))
        guest.send(SIGHUP)
        try await guest.waitForLine(containing: "not started: cannot listen on 127.0.0.1:\(blocker.port): address already in use")
        blocker.stop()
        guest.send(SIGHUP)
        try await guest.waitForLine(containing: "forwarding 127.0.0.1:\(blocker.port)")
        assertRoundTrip(port: blocker.port)

        // A broken profile is refused and the running one stays.
        try "groups: [ { name: home\n".write(toFile: guestPath, atomically: true, encoding: .utf8)
        guest.send(SIGHUP)
        try await guest.waitForLine(containing: "reload rejected, keeping the running profile: \(guestPath):")
        try open.send(Array("three".utf8))
        XCTAssertEqual(try open.receive(exactly: 5), Array("three".utf8))

        guest.send(SIGTERM)
        let status = try await guest.waitForExit(timeout: 5)
        XCTAssertEqual(status, 0)
    }
}
