import Foundation
import XCTest

/// The tools as a user runs them: real relay and member processes, a real
/// web server behind the forward and a real client in front of it.
final class CommandLineTests: ProcessTestCase {
    /// The README's two-machine example, on one machine.
    func testReadmeExampleForwardsAWebServerAndExitsCleanly() async throws {
        let web = try TCPTestServer { connection in
            var request: [UInt8] = []
            while !request.ends(with: Array("\r\n\r\n".utf8)), let chunk = try? connection.receive(), !chunk.isEmpty { request += chunk }
            let body = "hello from host\n"
            try? connection.send(Array("HTTP/1.0 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
            connection.close()
        }
        defer { web.stop() }
        let relay = try await startRelay()
        let pw = try passwordFile("s3cret pass")
        let closed = try freePort()
        let host = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host", "--password-file", pw,
                                    "--allow", "127.0.0.1:\(web.port)", "--allow", "127.0.0.1:\(closed)"])
        try await host.waitForLine(containing: "created group demo as host (CID 1)")
        let guest = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "guest", "--password-file", pw,
                                     "--relay", "host:0:\(web.port)", "--relay", "1:0:127.0.0.1:9", "--relay", "host:0:\(closed)"])
        try await guest.waitForLine(containing: "joined group demo as guest (CID 2)")
        try await host.waitForLine(containing: "peer guest (CID 2) joined")
        let line = try await guest.waitForLine(containing: "to host 127.0.0.1:\(web.port)")
        let port = try XCTUnwrap(Int(line.components(separatedBy: "127.0.0.1:")[1].split(separator: " ")[0]))

        let connection = try TCPConnection.connect(port: port)
        try connection.send(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        var response: [UInt8] = []
        while let chunk = try? connection.receive(), !chunk.isEmpty { response += chunk }
        connection.close()
        XCTAssertTrue(String(decoding: response, as: UTF8.self).hasSuffix("\r\n\r\nhello from host\n"))

        // A target the host did not allow is refused, and the guest says so.
        let refusedLine = try await guest.waitForLine(containing: "to CID 1 127.0.0.1:9")
        let refusedPort = try XCTUnwrap(Int(refusedLine.components(separatedBy: "127.0.0.1:")[1].split(separator: " ")[0]))
        let refused = try TCPConnection.connect(port: refusedPort)
        XCTAssertEqual(try refused.receive(), [], "the local connection is closed")
        refused.close()
        try await guest.waitForLine(containing: "refused by host: 127.0.0.1:9 is not allowed")
        // An allowed target where nothing listens: said in those words.
        let closedLine = try await guest.waitForLine(containing: "to host 127.0.0.1:\(closed)")
        let closedPort = try XCTUnwrap(Int(closedLine.components(separatedBy: "127.0.0.1:")[1].split(separator: " ")[0]))
        let nothing = try TCPConnection.connect(port: closedPort)
        XCTAssertEqual(try nothing.receive(), [], "the local connection is closed")
        nothing.close()
        try await guest.waitForLine(containing: "refused by host: nothing listens on 127.0.0.1:\(closed)")

        guest.send(SIGINT)
        let guestStatus = try await guest.waitForExit(timeout: 5)
        XCTAssertEqual(guestStatus, 0)
        try await host.waitForLine(containing: "peer guest (CID 2) left")
        host.send(SIGTERM)
        let hostStatus = try await host.waitForExit(timeout: 5)
        XCTAssertEqual(hostStatus, 0)
        relay.tool.send(SIGTERM)
        let relayStatus = try await relay.tool.waitForExit(timeout: 5)
        XCTAssertEqual(relayStatus, 0)
    }

    func testWrongPasswordFailsClearlyWithinFiveSeconds() async throws {
        let relay = try await startRelay()
        let host = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host", "--password-file", try passwordFile("right")])
        try await host.waitForLine(containing: "created group demo")
        let started = Date()
        let intruder = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "intruder"], environment: ["P22P_PASSWORD": "wrong"])
        let status = try await intruder.waitForExit(timeout: 5)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(status, 1)
        XCTAssertEqual(intruder.standardError, "p22p: wrong password for group demo\n")
        try await relay.tool.waitForLine(containing: "failed join")
    }

    func testGroupThatExistsOrDoesNotIsAClearError() async throws {
        let relay = try await startRelay()
        let env = ["P22P_PASSWORD": "pw"]
        let missing = try run("p22p", ["join", "nowhere", "--server", relay.url, "--name", "a", "--no-reconnect"], environment: env)
        let missingStatus = try await missing.waitForExit()
        XCTAssertEqual(missingStatus, 1)
        XCTAssertEqual(missing.standardError, "p22p: group nowhere does not exist; create it first\n")
        let first = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "a"], environment: env)
        try await first.waitForLine(containing: "created group demo")
        let second = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "b"], environment: env)
        let secondStatus = try await second.waitForExit()
        XCTAssertEqual(secondStatus, 1)
        XCTAssertEqual(second.standardError, "p22p: group demo already exists; join it instead\n")
    }

    /// Without --no-reconnect, joining a group nobody created yet waits for
    /// its creator, polling without backoff, and joins as soon as it exists.
    func testJoinWaitsForTheGroupsCreator() async throws {
        let relay = try await startRelay()
        let env = ["P22P_PASSWORD": "pw"]
        let joiner = try run("p22p", ["join", "later", "--server", relay.url, "--name", "joiner"], environment: env)
        try await joiner.waitForLine(containing: "waiting for a member to create group later")
        let creator = try run("p22p", ["create", "later", "--server", relay.url, "--name", "creator"], environment: env)
        try await creator.waitForLine(containing: "created group later")
        let created = Date()
        try await joiner.waitForLine(containing: "joined group later", timeout: 10)
        // A poll a second, then the group's keys from its new salt: scrypt at
        // N=2^17 takes about 1.5 s in a debug build (0.3 s in release).
        XCTAssertLessThan(Date().timeIntervalSince(created), 4.5, "a waiting member polls about every second")
        XCTAssertEqual(joiner.output.components(separatedBy: "waiting for a member").count, 2, "announced once: \(joiner.output)")
        XCTAssertFalse(joiner.output.contains("reconnecting in"), "waiting is not a failure: \(joiner.output)")
    }

    func testUsageErrorsAreOneLineAndExitOne() async throws {
        let cases: [([String], String)] = [
            (["join", "demo", "--relay", "host:notaport:22"], "--relay"),
            (["join", "demo", "--allow", "99999"], "--allow"),
            (["join", "demo", "--server", "http://example"], "--server"),
            (["join", "demo", "--name", "bad name"], "member name"),
            (["join", "demo"], "no password"),
        ]
        for (arguments, mention) in cases {
            let tool = try run("p22p", arguments)
            let status = try await tool.waitForExit()
            XCTAssertEqual(status, 1, "\(arguments)")
            let lines = tool.standardError.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(tool.standardError)")
            XCTAssertTrue(tool.standardError.contains(mention), "\(arguments): \(tool.standardError)")
            XCTAssertFalse(tool.output.contains("Fatal error"))
        }
    }

    /// A mistyped command is named as one, with the command it looks like,
    /// instead of the command loop's usage.
    func testAnUnknownCommandSuggestsTheNearestOne() async throws {
        let typo = try run("p22p", ["craete", "demo"])
        let status = try await typo.waitForExit()
        XCTAssertEqual(status, 1)
        XCTAssertEqual(typo.standardError, "p22p: unknown command \"craete\"; did you mean \"create\"?\n"
                       + "commands: shell, create, join, ping, peers, reserve, extend, password, identity, help; p22p --help explains them\n")
        let nonsense = try run("p22p", ["frobnicate"])
        let nonsenseStatus = try await nonsense.waitForExit()
        XCTAssertEqual(nonsenseStatus, 1)
        XCTAssertTrue(nonsense.standardError.hasPrefix("p22p: unknown command \"frobnicate\"\ncommands: "), nonsense.standardError)
    }

    func testUnreachableRelayExitsTwo() async throws {
        let tool = try run("p22p", ["join", "demo", "--server", "ws://127.0.0.1:1", "--name", "a"], environment: ["P22P_PASSWORD": "pw"])
        let status = try await tool.waitForExit()
        XCTAssertEqual(status, 2)
        XCTAssertEqual(tool.standardError, "p22p: cannot connect to ws://127.0.0.1:1: nothing listens on 127.0.0.1:1\n")
    }

    /// A relay address where packets are dropped: the one-shot command and
    /// the loop's connect both name the address and how long they waited.
    func testARelayThatNeverAnswersTimesOutWithASentence() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let started = Date()
        let tool = try run("p22p", ["peers", "demo", "--server", "ws://127.0.0.1:\(silent.port)"], environment: ["P22P_PASSWORD": "pw"])
        let loop = try run("p22p", ["--name", "user"], interactive: true)
        try await loop.waitForLine(containing: "type help")
        try await loop.command("connect ws://127.0.0.1:\(silent.port)",
                               expect: "cannot connect to ws://127.0.0.1:\(silent.port): connection to 127.0.0.1:\(silent.port) timed out after 5 s")
        let status = try await tool.waitForExit(timeout: 20)
        XCTAssertEqual(status, 2)
        XCTAssertEqual(tool.standardError,
                       "p22p: cannot connect to ws://127.0.0.1:\(silent.port): connection to 127.0.0.1:\(silent.port) timed out after 10 s\n")
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 9.5, "the timeout is the one the message names")
    }

    /// A member frozen mid-session (no FIN, no answers) is dropped by the
    /// relay's keepalive and reported to its peers.
    func testSilentlyDeadMemberIsDroppedAndReported() async throws {
        let relay = try await startRelay(["--keepalive", "1"])
        let env = ["P22P_PASSWORD": "pw"]
        let host = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host"], environment: env)
        try await host.waitForLine(containing: "created group demo")
        let guest = try run("p22p", ["join", "demo", "--server", relay.url, "--name", "guest"], environment: env)
        try await host.waitForLine(containing: "peer guest (CID 2) joined")
        guest.send(SIGSTOP)
        let frozen = Date()
        try await host.waitForLine(containing: "peer guest (CID 2) left", timeout: 60)
        XCTAssertLessThan(Date().timeIntervalSince(frozen), 60)
        try await relay.tool.waitForLine(containing: "keepalive timeout")
    }
}

extension CommandLineTests {
    /// `p22p password` and `p22p identity`, and the warnings about secrets
    /// other users can read.
    func testKeyCommandsAndExposedSecretsWarn() async throws {
        let directory = NSTemporaryDirectory() + "p22p-keys-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let generator = try run("p22p", ["password"])
        let generatorStatus = try await generator.waitForExit()
        XCTAssertEqual(generatorStatus, 0)
        let password = generator.output.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(password.range(of: "^[a-z2-9]{5}(-[a-z2-9]{1,5}){5}$", options: .regularExpression), password)

        let keyPath = directory + "/laptop.key"
        let first = try run("p22p", ["identity", keyPath])
        let firstStatus = try await first.waitForExit()
        XCTAssertEqual(firstStatus, 0)
        // Standard output only: the notice goes to standard error.
        let printed = { (process: ToolProcess) in
            process.output.split(separator: "\n").map(String.init).last { !$0.hasPrefix("p22p:") } ?? ""
        }
        let key = printed(first)
        XCTAssertEqual(key.count, 44, first.output)
        XCTAssertTrue(first.standardError.contains("created the identity file \(keyPath); its public key (for peer_key) is \(key)"), first.standardError)
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o777, 0o600)
        let again = try run("p22p", ["identity", keyPath])
        let againStatus = try await again.waitForExit()
        XCTAssertEqual(againStatus, 0)
        XCTAssertEqual(printed(again), key, "the same file, the same key")

        chmod(keyPath, 0o644)
        let passwordFile = directory + "/demo.pass"
        try "\(password)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o644)
        let relay = try await startRelay()
        let creator = try run("p22p", ["create", "demo", "--server", relay.url, "--password-file", passwordFile, "--identity", keyPath])
        try await creator.waitForLine(containing: "created group demo")
        XCTAssertTrue(creator.standardError.contains("the password file \(passwordFile) of group demo is readable by other users; run chmod 600 \(passwordFile)"),
                      creator.standardError)
        XCTAssertTrue(creator.standardError.contains("the identity file \(keyPath) is readable by other users; run chmod 600 \(keyPath)"),
                      creator.standardError)
    }
}
