import Foundation
import XCTest

/// The forwarding engine under real faults, with real processes: peers that
/// come late, long relay outages, a member frozen with SIGSTOP, a link
/// blackholed in a network namespace, and thousands of connections.
final class FaultTests: ProcessTestCase {
    /// `p22p create --relay` to a peer that joins 2 s later: the connection
    /// made meanwhile waits for the peer and is served when it arrives.
    func testOneShotForwardWaitsForAPeerThatJoinsLater() async throws {
        let echo = try echoServer()
        let relay = try await startRelay()
        let localPort = try freePort()
        let env = ["P22P_PASSWORD": "pw"]
        let guest = try run("p22p", ["create", "demo", "--server", relay.url, "--name", "guest",
                                     "--relay", "host:\(localPort):\(echo.port)"], environment: env)
        try await guest.waitForLine(containing: "created group demo")
        let early = try TCPConnection.connect(port: localPort, timeoutSeconds: 15)
        defer { early.close() }
        try early.send(Array("before the peer".utf8))
        try await guest.waitForLine(containing: "waits for peer host")
        try await Task.sleep(nanoseconds: 2_000_000_000)
        try run("p22p", ["join", "demo", "--server", relay.url, "--name", "host", "--allow", "\(echo.port)"], environment: env)
        XCTAssertEqual(try early.receive(exactly: 15), Array("before the peer".utf8))
        try await guest.waitForLine(containing: "s for peer host; serving it now")
    }

    /// The relay is down for 25 s. The join-only member comes back first (its
    /// creator is held with SIGSTOP) and finds no group: it waits for the
    /// creator, asking every second, instead of backing off as for a failure
    /// (with the default reconnect policy that would be up to 30 s). Once the
    /// creator re-creates the group, its forward works within 2 s, and a
    /// connection made while it waited is served (its peer is already there
    /// when it joins).
    func testJoinOnlyMemberIsBackWithinTwoSecondsOfTheGroupsReCreation() async throws {
        let echo = try echoServer()
        let relayPort = try freePort()
        let localPort = try freePort()
        let server = "ws://127.0.0.1:\(relayPort)"
        var relay = try await self.relay(onPort: relayPort)
        let host = try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: server, allow: echo.port, groupExtra: "create: always"))])
        try await host.waitForLine(containing: "created group home")
        // The guest keeps the default reconnect policy (500 ms doubling up to 30 s).
        let guestProfile = Profiles.guest(server: server, forwards: [(localPort, echo.port)], groupExtra: "create: never")
            .replacingOccurrences(of: "reconnect: { initial_delay: 200ms, max_delay: 1s }\n", with: "")
        let guest = try run("p22p-up", [try profiles().write("guest.yaml", guestProfile)])
        try await waitUntilForwarding(port: localPort)

        relay.send(SIGKILL)
        _ = try await relay.waitForExit()
        try await guest.waitForLine(containing: "reconnecting in")
        host.send(SIGSTOP)
        // Let the guest's backoff grow (0.5, 1, 2, 4, 8 s, then 16 s) before
        // the relay returns: a grown backoff must not delay the rejoin.
        try await guest.waitForLine(containing: "(attempt 6)", timeout: 40)
        relay = try await self.relay(onPort: relayPort)
        let waitingLine = try await guest.waitForLine(containing: "waiting for a member to create group home", timeout: 40)

        let early = try TCPConnection.connect(port: localPort, timeoutSeconds: 15)
        defer { early.close() }
        try early.send(Array("during the outage".utf8))
        host.send(SIGCONT)
        try await relay.waitForLine(containing: "member created group", timeout: 10)
        let createdAt = Date()
        XCTAssertEqual(try early.receive(exactly: 17), Array("during the outage".utf8))
        let seconds = try await waitUntilForwarding(port: localPort, timeout: 10)
        let sinceCreation = Date().timeIntervalSince(createdAt)
        print("join-only member forwarding again \(String(format: "%.2f", sinceCreation)) s after the group was re-created")
        XCTAssertLessThan(sinceCreation, 2, "took \(seconds) s once polled")
        let afterWaiting = guest.output.components(separatedBy: waitingLine).last ?? ""
        XCTAssertFalse(afterWaiting.contains("reconnecting in"), "a missing group is waited for, not backed off from: \(guest.output)")
        XCTAssertFalse(guest.output.contains("create it first"), "a join-only member is told to wait, not to create: \(guest.output)")
    }

    /// A waiting connection whose program sends and then shuts down its side
    /// (as `nc -N` or an HTTP/1.0 client does) keeps both: the bytes and the
    /// end of data reach the target once the link is up.
    func testHalfCloseWhileWaitingIsKept() async throws {
        let echo = try echoServer()
        let relayPort = try freePort()
        let localPort = try freePort()
        let server = "ws://127.0.0.1:\(relayPort)"
        let guest = try run("p22p-up", [try profiles().write("guest.yaml", Profiles.guest(server: server, forwards: [(localPort, echo.port)]))])
        try await guest.waitForLine(containing: "reconnecting in")
        let early = try TCPConnection.connect(port: localPort, timeoutSeconds: 15)
        defer { early.close() }
        let message = randomBytes(3000)
        try early.send(message)
        early.shutdownWrite()
        try await guest.waitForLine(containing: "waits for the link to the relay")

        _ = try await self.relay(onPort: relayPort)
        try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: server, allow: echo.port))])
        XCTAssertEqual(try early.receive(exactly: message.count), message)
        XCTAssertEqual(try early.receive(), [], "the target saw the end of data and closed: EOF, not a reset or a hang")
    }

    /// A member frozen (SIGSTOP) for longer than the relay's keepalive
    /// timeout is dropped by the relay; after SIGCONT it notices, rejoins,
    /// and its forwards work again within 2 s.
    func testAMemberFrozenPastTheKeepaliveComesBack() async throws {
        let echo = try echoServer()
        let relay = try await startRelay(["--keepalive", "1"])
        let localPort = try freePort()
        let server = relay.url
        let host = try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: server, allow: echo.port))])
        let guest = try run("p22p-up", [try profiles().write("guest.yaml", Profiles.guest(server: server, forwards: [(localPort, echo.port)]))])
        try await waitUntilForwarding(port: localPort)
        _ = host

        guest.send(SIGSTOP)
        try await relay.tool.waitForLine(containing: "keepalive", timeout: 10)
        guest.send(SIGCONT)
        let resumed = Date()
        let seconds = try await waitUntilForwarding(port: localPort, timeout: 10)
        print("frozen member forwarding again \(String(format: "%.2f", seconds)) s after SIGCONT")
        XCTAssertLessThan(Date().timeIntervalSince(resumed), 2)
    }

    /// The relay sits behind a link that goes dead without a word (a veth
    /// taken down). Members find out through their keepalive within its
    /// timeout, and work again within 5 s of the path returning.
    func testHalfOpenLinkIsDetectedAndSurvived() async throws {
        if let reason = NetworkNamespace.unavailable { throw XCTSkip("needs a network namespace: \(reason)") }
        let echo = try echoServer()
        let namespace = try NetworkNamespace(subnet: Int.random(in: 1...250))
        defer { namespace.remove() }
        let relayPort = try freePort()
        let relay = try run("p22p-server", ["--listen", "\(namespace.address):\(relayPort)", "--keepalive", "1"], namespace: namespace.name)
        try await relay.waitForLine(containing: "relay listening")
        let server = "ws://\(namespace.address):\(relayPort)"
        let keepalive = "keepalive: { interval: 1s, timeout: 3s }"
        let localPort = try freePort()
        let host = try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: server, allow: echo.port, extra: keepalive))])
        let guest = try run("p22p-up", [try profiles().write("guest.yaml",
                                                           Profiles.guest(server: server, forwards: [(localPort, echo.port)], extra: keepalive))])
        try await waitUntilForwarding(port: localPort)

        try namespace.blackhole()
        let cut = Date()
        try await guest.waitForLine(containing: "link to the relay lost", timeout: 6)
        try await host.waitForLine(containing: "link to the relay lost", timeout: 6)
        let detected = Date().timeIntervalSince(cut)
        print("dead link detected \(String(format: "%.2f", detected)) s after the blackhole")
        // Found 3 s (the timeout) after the last frame heard, which came at
        // most a ping interval before the cut.
        XCTAssertLessThan(detected, 3.5)
        // Both members found the path dead: it was down for longer than
        // their keepalive timeout, which is what this test is about.

        try namespace.restore()
        let seconds: TimeInterval
        do {
            seconds = try await waitUntilForwarding(port: localPort, timeout: 10)
        } catch {
            XCTFail("\(error)\nguest:\n\(guest.output)\nhost:\n\(host.output)\nrelay:\n\(relay.output)")
            return
        }
        print("forwarding again \(String(format: "%.2f", seconds)) s after the path returned")
        XCTAssertLessThan(seconds, 5, "guest:\n\(guest.output)\nhost:\n\(host.output)\nrelay:\n\(relay.output)")
    }

    /// 2,000 connect/echo/close cycles through one forward: descriptors and
    /// memory of the relay and both members stay flat (at most 5% more after
    /// the last cycle than after the first 200).
    func testTwoThousandConnectionsLeaveNothingBehind() async throws {
        let echo = try echoServer()
        let relay = try await startRelay()
        let localPort = try freePort()
        let host = try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: relay.url, allow: echo.port))])
        let guest = try run("p22p-up", [try profiles().write("guest.yaml", Profiles.guest(server: relay.url, forwards: [(localPort, echo.port)]))])
        try await waitUntilForwarding(port: localPort)
        let processes = [("relay", relay.tool), ("host", host), ("guest", guest)]
        let message = randomBytes(1024)

        func cycles(_ count: Int) throws {
            for _ in 0..<count { XCTAssertEqual(try roundTrip(port: localPort, message: message), message) }
        }
        /// Descriptors settle once every closed stream's socket is gone on
        /// every side: wait for the count to stop changing.
        func settled() async throws -> [(rssKiB: Int, descriptors: Int)] {
            var last = processes.map { $0.1.usage }
            for _ in 0..<50 {
                try await Task.sleep(nanoseconds: 100_000_000)
                let now = processes.map { $0.1.usage }
                if now.map(\.descriptors) == last.map(\.descriptors) { return now }
                last = now
            }
            return last
        }

        try cycles(200)
        let early = try await settled()
        try cycles(1800)
        let late = try await settled()
        for (index, (name, _)) in processes.enumerated() {
            print("\(name): descriptors \(early[index].descriptors) -> \(late[index].descriptors), RSS \(early[index].rssKiB) -> \(late[index].rssKiB) KiB")
            XCTAssertLessThanOrEqual(Double(late[index].descriptors), Double(early[index].descriptors) * 1.05, "\(name) leaks descriptors")
            XCTAssertLessThanOrEqual(Double(late[index].rssKiB), Double(early[index].rssKiB) * 1.05, "\(name) grows")
        }
    }
}

extension FaultTests {
    /// `server:` as a list: when the first relay dies for good both members
    /// move to the second; when the first comes back both move back to it.
    /// A connection open all along follows both moves.
    func testMembersFailOverToTheNextRelayAndComeBack() async throws {
        let echo = try echoServer()
        let (first, second, localPort) = (try freePort(), try freePort(), try freePort())
        var primary = try await self.relay(onPort: first)
        let backup = try await self.relay(onPort: second)
        let servers = "[ws://127.0.0.1:\(first), ws://127.0.0.1:\(second)]"
        let host = try run("p22p-up", [try profiles().write("host.yaml", Profiles.host(server: servers, allow: echo.port))])
        let guest = try run("p22p-up", [try profiles().write("guest.yaml", Profiles.guest(server: servers, forwards: [(localPort, echo.port)]))])
        try await waitUntilForwarding(port: localPort)
        XCTAssertFalse(backup.output.contains("member joined"), "both start on the first relay")
        let session = try TCPConnection.connect(port: localPort, timeoutSeconds: 20)
        defer { session.close() }
        func echoes(_ text: String) throws {
            try session.send(Array(text.utf8))
            XCTAssertEqual(try session.receive(exactly: text.utf8.count), Array(text.utf8), text)
        }
        try echoes("on the first relay")

        primary.send(SIGKILL)
        _ = try await primary.waitForExit()
        try await host.waitForLine(containing: "ws://127.0.0.1:\(first) cannot be reached; next try: ws://127.0.0.1:\(second)")
        try await guest.waitForLine(containing: "ws://127.0.0.1:\(first) cannot be reached; next try: ws://127.0.0.1:\(second)")
        let failover = try await waitUntilForwarding(port: localPort, timeout: 20)
        print("forwarding through the second relay \(String(format: "%.2f", failover)) s after the first died")
        try await backup.waitForLine(containing: "member joined")
        try echoes("on the second relay")

        primary = try await self.relay(onPort: first)
        try await host.waitForLine(containing: "ws://127.0.0.1:\(first) answers again; moving back to it", timeout: 20)
        try await guest.waitForLine(containing: "ws://127.0.0.1:\(first) answers again; moving back to it", timeout: 20)
        try await primary.waitForLine(containing: "member joined", timeout: 20)
        try await waitUntilForwarding(port: localPort, timeout: 20)
        try echoes("back on the first relay")
        XCTAssertFalse(guest.output.contains("reset:"), guest.output)
    }
}
