import Foundation
import XCTest

/// The command loop driven as a new user would, through standard input.
final class ShellTests: ProcessTestCase {
    private func shell(_ name: String, password: String = "loop password") throws -> ToolProcess {
        try run("p22p", ["--name", name], environment: ["P22P_PASSWORD": password], interactive: true)
    }

    func testFirstSessionFromConnectToExit() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let relay = try await startRelay()
        let host = try shell("host")
        try await host.waitForLine(containing: "type help")
        try await host.command("connect \(relay.url)", expect: "connected to \(relay.url)")
        try await host.command("create demo", expect: "created group demo as host (CID 1)")
        try await host.command("allow \(echo.port)", expect: "allowed: 127.0.0.1:\(echo.port)")

        let guest = try shell("guest")
        try await guest.command("connect \(relay.url)", expect: "connected")
        try await guest.command("join demo", expect: "joined group demo as guest (CID 2)")
        try await host.waitForLine(containing: "peer guest (CID 2) joined")
        let forwarding = try await guest.command("relay host 0 \(echo.port)", expect: "forwarding 127.0.0.1:")
        let port = try XCTUnwrap(Int(forwarding.components(separatedBy: "forwarding 127.0.0.1:")[1].prefix { $0.isNumber }))

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let message = randomBytes(3000)
        try connection.send(message)
        XCTAssertEqual(try connection.receive(exactly: 3000), message)

        let list = try await guest.command("list", expect: "BYTES OUT")
        let row = try XCTUnwrap(list.split(separator: "\n").first { $0.first?.isNumber == true && $0.contains("127.0.0.1:\(echo.port)") },
                                "no stream row in:\n\(list)")
        // The forward's own figures: every connection it carried.
        XCTAssertTrue(list.contains("forward 127.0.0.1:\(port) -> host 127.0.0.1:\(echo.port): listening, 1 connection(s) open (1 in all), "
                                    + "3000 bytes in, 3000 bytes out"), list)
        let cells = row.split(separator: " ")
        XCTAssertEqual(cells[4], "3000", "bytes in: \(row)")
        XCTAssertEqual(cells[5], "3000", "bytes out: \(row)")

        let ping = try await guest.command("ping host", expect: "ms")
        XCTAssertTrue(ping.range(of: #"ping host: min/avg/max = [0-9.]+/[0-9.]+/[0-9.]+ ms"#, options: .regularExpression) != nil, ping)
        try await guest.command("peers", expect: "host")
        try await guest.command("whoami", expect: "CID 2, name guest, group demo")
        try await guest.command("leave", expect: "left group demo")
        try await host.waitForLine(containing: "peer guest (CID 2) left")
        guest.type("exit")
        let status = try await guest.waitForExit()
        XCTAssertEqual(status, 0)
        host.endInput()   // Ctrl-D
        let hostStatus = try await host.waitForExit()
        XCTAssertEqual(hostStatus, 0)
    }

    /// The loop stays in its group across a relay restart, like the daemon:
    /// it says the link was lost, rejoins by itself, and its forward and its
    /// peer's allow list work again.
    func testLoopRejoinsAfterARelayRestart() async throws {
        let echo = try echoServer()
        let relayPort = try freePort()
        let url = "ws://127.0.0.1:\(relayPort)"
        var relay = try await self.relay(onPort: relayPort)
        let host = try shell("host")
        try await host.command("connect \(url)", expect: "connected")
        try await host.command("create demo", expect: "created group demo")
        try await host.command("allow \(echo.port)", expect: "allowed")
        let guest = try shell("guest")
        try await guest.command("connect \(url)", expect: "connected")
        try await guest.command("join demo", expect: "joined group demo")
        let forwarding = try await guest.command("relay host 0 \(echo.port)", expect: "forwarding 127.0.0.1:")
        let port = try XCTUnwrap(Int(forwarding.components(separatedBy: "forwarding 127.0.0.1:")[1].prefix { $0.isNumber }))
        XCTAssertEqual(try roundTrip(port: port, message: Array("before".utf8)), Array("before".utf8))

        relay.send(SIGKILL)
        _ = try await relay.waitForExit()
        try await guest.waitForLine(containing: "lost the relay: ")
        try await guest.command("peers", expect: "not in group demo right now: the link to the relay is down")
        relay = try run("p22p-server", ["--listen", "127.0.0.1:\(relayPort)"])
        try await guest.waitForLine(containing: "back in group demo as guest")
        try await host.waitForLine(containing: "back in group demo as host")
        try await waitUntilForwarding(port: port)
        XCTAssertFalse(guest.output.contains("create or join again"), guest.output)
    }

    func testEveryCommandSaysWhatIsWrong() async throws {
        let relay = try await startRelay()
        let user = try shell("user")
        try await user.waitForLine(containing: "type help")
        // Not connected.
        for line in ["create demo", "join demo", "list", "peers", "ping x", "relay x 1 2", "cid", "reserve #x all k", "disconnect"] {
            try await user.command(line, expect: "not connected")
        }
        try await user.command("connect ws://127.0.0.1:1", expect: "cannot connect to ws://127.0.0.1:1: nothing listens on 127.0.0.1:1")
        try await user.command("connect \(relay.url)", expect: "connected")
        // Not in a group.
        for line in ["list", "peers", "ping x", "relay x 1 2", "whoami", "leave"] {
            try await user.command(line, expect: "not in a group")
        }
        try await user.command("join nowhere", expect: "group nowhere does not exist; create it first")
        try await user.command("create demo", expect: "created group demo")
        XCTAssertFalse(user.output.contains("lost the relay"), "a refused join is not a lost link: \(user.output)")
        // Bad arguments get the usage of that command.
        try await user.command("relay host abc 22", expect: "usage: relay PEER [LOCAL] REMOTE")
        try await user.command("relay host 2222 99999", expect: "usage: relay PEER [LOCAL] REMOTE")
        try await user.command("relay", expect: "missing arguments; usage: relay PEER [LOCAL] REMOTE")
        try await user.command("allow 70000", expect: "usage: allow [TARGET...]")
        try await user.command("ping", expect: "usage: ping PEER")
        try await user.command("frobnicate", expect: "unknown command \"frobnicate\"; type help")
        // Unknown peer.
        try await user.command("relay nobody 2222 22", expect: "no member nobody in group demo")
        try await user.command("ping nobody", expect: "no member nobody in the group")
        try await user.command("create again", expect: "already in group demo: leave first")
        try await user.command("reserve #club maybe club.key", expect: "the mode is ALL or SCO; usage: reserve NAME ALL|SCO OUTFILE")
        try await user.command("extend /nonexistent.key", expect: "cannot read /nonexistent.key")

        // Wrong password, from a second user.
        let intruder = try shell("intruder", password: "not the password")
        try await intruder.command("connect \(relay.url)", expect: "connected")
        try await intruder.command("join demo", expect: "wrong password for group demo")
        try await intruder.command("peers", expect: "not in a group")
        intruder.type("quit")
        let status = try await intruder.waitForExit()
        XCTAssertEqual(status, 0, "the loop survives every error")
    }

    func testHelpCoversEveryCommand() async throws {
        let user = try shell("reader")
        let overview = try await user.command("help", expect: "help usage")
        for command in ["connect", "disconnect", "create", "join", "leave", "relay", "allow", "deny", "list", "peers",
                        "ping", "cid", "whoami", "reserve", "extend", "help", "exit", "quit"] {
            XCTAssertTrue(overview.contains(command), "help does not list \(command)")
        }
        let relay = try await user.command("help relay", expect: "Example:")
        XCTAssertTrue(relay.contains("usage: relay PEER [LOCAL] REMOTE"))
        XCTAssertTrue(relay.contains("HOST:PORT"))
        try await user.command("help usage", expect: "A first session")
        try await user.command("help nosuch", expect: "no command \"nosuch\"")
    }

    func testOneShotPingAndPeers() async throws {
        let relay = try await startRelay()
        let env = ["P22P_PASSWORD": "pw"]
        let host = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "host"], environment: env)
        try await host.waitForLine(containing: "created group demo")
        let ping = try run("p22p", ["ping", "demo", "host", "--server", relay.url], environment: env)
        let pingStatus = try await ping.waitForExit()
        XCTAssertEqual(pingStatus, 0, ping.output)
        XCTAssertTrue(ping.output.contains("ping host: min/avg/max = "), ping.output)
        let peers = try run("p22p", ["peers", "demo", "--server", relay.url], environment: env)
        let peersStatus = try await peers.waitForExit()
        XCTAssertEqual(peersStatus, 0)
        XCTAssertTrue(peers.output.contains("1\thost"), peers.output)
        let missing = try run("p22p", ["ping", "demo", "nobody", "--server", relay.url], environment: env)
        let missingStatus = try await missing.waitForExit()
        XCTAssertEqual(missingStatus, 1)
        XCTAssertTrue(missing.standardError.contains("no member CID") || missing.standardError.contains("no member nobody"), missing.standardError)
        let unreachable = try run("p22p", ["peers", "demo", "--server", "ws://127.0.0.1:1"], environment: env)
        let unreachableStatus = try await unreachable.waitForExit()
        XCTAssertEqual(unreachableStatus, 2)
    }
}
