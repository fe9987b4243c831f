import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
@testable import P22PClient
import P22PCrypto
import P22PWire
import XCTest

/// Attacks by a relay (or anyone on a ws:// path) that can forge, drop,
/// duplicate, reorder and rewrite every message to and from one member. Each
/// must fail, end in a reset or a refusal the user sees, and be logged with
/// its reason; none may look like success.
final class HostileRelayTests: XCTestCase {
    private var cluster: Cluster!
    private var proxy: HostileRelay?

    override func setUp() async throws {
        cluster = try await Cluster()
    }

    override func tearDown() async throws {
        proxy?.stop()
        await cluster.shutdown()
    }

    /// Puts the hostile relay in front of the member that connects to `url`.
    private func hostile(_ rule: @escaping HostileRelay.Rule) throws -> ServerURL {
        let relay = try HostileRelay(relayPort: cluster.relay.localAddress.port!, rule: rule)
        proxy = relay
        return ServerURL(secure: false, host: "127.0.0.1", port: relay.port, pathPrefix: "")
    }

    /// The usual scene: a host that allows `target`, and a guest behind the
    /// hostile relay forwarding a fresh local port to it; returns that port.
    private func hostAndGuestBehindHostile(target: Int, rekey: RekeyPolicy = .standard,
                                           _ rule: @escaping HostileRelay.Rule) async throws -> Int {
        _ = try await cluster.member("host", mode: .create, allow: ["\(target)"], rekey: rekey)
        let url = try hostile(rule)
        let guest = try await cluster.member("guest", server: url, rekey: rekey)
        return try await forward(guest, to: "host", port: target)
    }

    private func forward(_ guest: Member, to peer: String, port: Int) async throws -> Int {
        try await cluster.addForward(on: guest, ForwardSpec(peer: .name(peer), listen: TargetAddress(host: "127.0.0.1", port: 0),
                                                            target: TargetAddress(host: "127.0.0.1", port: port))).get()
    }

    /// Reads a local connection until it ends; returns what came and how it ended.
    private func drain(_ connection: TCPConnection) -> (bytes: Int, outcome: String) {
        var total = 0
        do {
            while true {
                let chunk = try connection.receive()
                if chunk.isEmpty { return (total, "EOF") }
                total += chunk.count
            }
        } catch {
            return (total, "\(error)")
        }
    }

    /// A key change every 64 KiB, so a 1 MiB transfer sees many.
    static let smallRekey = RekeyPolicy(bytes: 64 << 10, interval: .hours(1))

    /// Hands out true exactly once.
    private final class Once: @unchecked Sendable {
        private let box = NIOLockedValueBox(false)
        func claim() -> Bool { box.withLockedValue { done in defer { done = true }; return !done } }
        var claimed: Bool { box.withLockedValue { $0 } }
    }

    // MARK: Resumption

    /// The guest's link is cut and its streams resume on a new one. The
    /// relay then replays a data frame of the earlier session into the new
    /// one, and splices it into another member's pair with the host: both
    /// fail to open (the keys mix in that pair's earlier secret), and the
    /// stream they land on is reset; no byte of them reaches a program.
    func testReplayedOrSplicedFramesAfterResumptionResetTheStream() async throws {
        let target = try TCPTestServer.echo()
        defer { target.stop() }
        let links = NIOLockedValueBox<[HostileRelay.Link]>([])
        let captured = NIOLockedValueBox<[UInt8]?>(nil)
        _ = try await cluster.member("host", mode: .create, allow: ["\(target.port)"])
        let url = try hostile { direction, message, link in
            links.withLockedValue { known in if !known.contains(where: { $0 === link }) { known.append(link) } }
            if direction == .toRelay, links.withLockedValue({ $0.first === link }),
               let (_, header) = Wire.sealed(message), header.kind == .data, captured.withLockedValue({ $0 == nil }) {
                captured.withLockedValue { $0 = message }
            }
            return [message]
        }
        let guest = try await cluster.member("guest", server: url, reconnect: true)
        let port = try await forward(guest, to: "host", port: target.port)
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("first session".utf8))
        XCTAssertEqual(try connection.receive(exactly: 13), Array("first session".utf8))
        let old = try XCTUnwrap(captured.withLockedValue { $0 })

        links.withLockedValue { $0.first }?.cut()
        try await cluster.memberLog.wait(for: "member=guest", "1 connection(s) with host resumed after")
        try connection.send(Array("second session".utf8))
        XCTAssertEqual(try connection.receive(exactly: 14), Array("second session".utf8), "the stream goes on after resuming")

        // A second guest, with a stream of the same id (1) to the host.
        let other = try await cluster.member("guest2", server: url)
        let otherPort = try await forward(other, to: "host", port: target.port)
        let spliced = try TCPConnection.connect(port: otherPort)
        defer { spliced.close() }
        try spliced.send(Array("other pair".utf8))
        XCTAssertEqual(try spliced.receive(exactly: 10), Array("other pair".utf8))

        let current = try XCTUnwrap(links.withLockedValue { $0.count >= 3 ? ($0[1], $0[2]) : nil })
        current.0.inject(old, .toRelay)
        try await cluster.memberLog.wait(for: "member=host", "frame from guest on stream 1 rejected")
        XCTAssertEqual(drain(connection).outcome, "reset", "the replayed frame resets the resumed stream")
        current.1.inject(old, .toRelay)
        try await cluster.memberLog.wait(for: "member=host", "frame from guest2 on stream 1 rejected")
        XCTAssertEqual(drain(spliced).outcome, "reset", "the spliced frame resets the other pair's stream")
    }

    // MARK: Truncation

    /// The relay refuses a stream that is already open, hoping both ends
    /// close it as if the data had ended.
    func testTruncationByForgedRefusal() async throws {
        let target = try TCPTestServer { connection in
            try? connection.send(Array(repeating: UInt8(ascii: "x"), count: 1000))
            _ = try? connection.receive()  // holds the stream open
        }
        defer { target.stop() }
        let forged = Once()
        let port = try await hostAndGuestBehindHostile(target: target.port) { direction, message, _ in
            guard direction == .toMember, let (cid, header) = Wire.sealed(message), header.kind == .data, forged.claim() else { return [message] }
            // The data, then a refusal the real relay never sent.
            return [message, Wire.bytes(.control(.streamRefused(cid: cid, stream: header.stream, reason: "forged by the test")))]
        }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let (_, outcome) = drain(connection)
        XCTAssertTrue(forged.claimed)
        XCTAssertEqual(outcome, "reset", "the program must see a reset, not a normal end of data")
        try await cluster.memberLog.wait(for: "member=guest", "the relay refused a stream that is already open (forged by the test)")
    }

    /// The relay drops the last data frames and passes the peer's finish:
    /// the finish no longer matches what arrived, so the stream is reset.
    func testTruncationByDroppedTail() async throws {
        let payload = randomBytes(300_000)
        let target = try TCPTestServer { connection in
            try? connection.send(payload)
            connection.close()
        }
        defer { target.stop() }
        let passed = Once()
        let dropped = NIOLockedValueBox(0)
        let port = try await hostAndGuestBehindHostile(target: target.port) { direction, message, _ in
            guard direction == .toMember, let (_, header) = Wire.sealed(message), header.kind == .data else { return [message] }
            if passed.claim() { return [message] }
            dropped.withLockedValue { $0 += 1 }
            return []
        }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let (received, outcome) = drain(connection)
        XCTAssertGreaterThan(dropped.withLockedValue { $0 }, 0)
        XCTAssertLessThan(received, payload.count)
        XCTAssertEqual(outcome, "reset", "a stream missing its tail must not end like a complete one")
        try await cluster.memberLog.wait(for: "member=guest", "rejected", "resetting the stream")
    }

    /// The relay drops one datagram of a UDP flow. Datagrams may be lost, so
    /// nothing is reset, but the flow's message count is then out of step:
    /// the next datagram on it fails to open, the flow ends on both sides,
    /// and the one after starts a new flow that works.
    func testDroppedDatagramEndsTheFlowAndTheNextOneWorks() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let dropped = Once()
        _ = try await cluster.member("host", mode: .create, allow: ["\(echo.port)/udp"])
        let url = try hostile { direction, message, _ in
            guard direction == .toMember, let (_, header) = Wire.sealed(message), header.kind == .datagram else { return [message] }
            return dropped.claim() ? [] : [message]
        }
        let guest = try await cluster.member("guest", server: url)
        let port = try await cluster.addForward(on: guest, ForwardSpec(
            peer: .name("host"), listen: TargetAddress(host: "127.0.0.1", port: 0),
            target: TargetAddress(host: "127.0.0.1", port: echo.port), ipProtocol: .udp)).get()
        let client = try UDPSocket(timeoutMilliseconds: 200)
        defer { client.close() }

        try client.send([0], to: port)
        // The first datagram waits for the end-to-end handshake: wait for the relay to drop it.
        let deadline = Date().addingTimeInterval(10)
        while !dropped.claimed, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertTrue(dropped.claimed, "the relay saw the first datagram within 10 s")
        XCTAssertNil(client.receive(), "the relay dropped it, so no answer comes")
        var answered: UInt8?
        for attempt in 1...20 where answered == nil {
            try client.send([UInt8(attempt)], to: port)
            answered = client.receive()?.bytes.first
        }
        XCTAssertNotNil(answered, "UDP works again after one lost datagram")
        XCTAssertGreaterThanOrEqual(echo.sourcePorts.count, 2, "on a new flow: \(echo.sourcePorts)")
        try await cluster.memberLog.wait(for: "member=guest", "UDP flow", "rejected", "ending the flow")
    }

    /// The relay drops the tail and the finish, then hangs up.
    func testTruncationByDroppedTailAndClosedLink() async throws {
        let payload = randomBytes(300_000)
        let target = try TCPTestServer { connection in
            try? connection.send(payload)
            connection.close()
        }
        defer { target.stop() }
        let passed = Once()
        let port = try await hostAndGuestBehindHostile(target: target.port) { direction, message, link in
            guard direction == .toMember, let (_, header) = Wire.sealed(message) else { return [message] }
            if header.kind == .data, passed.claim() { return [message] }
            if header.kind == .finish { link.cut() }
            return header.kind == .data || header.kind == .finish ? [] : [message]
        }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let (received, outcome) = drain(connection)
        XCTAssertLessThan(received, payload.count)
        XCTAssertEqual(outcome, "reset", "a link that ends mid-stream must reset the stream, not end it")
        try await cluster.memberLog.wait(for: "member=guest", "connection(s) with host reset: disconnected from the relay")
    }

    // MARK: Names and roles

    /// The relay swaps two names in the roster, so that "home-pc" points at
    /// the office machine; the office must not be reached under that name.
    func testRosterRename() async throws {
        let officeReceived = Recorder()
        let officeService = try TCPTestServer { $0.record(into: officeReceived, outcome: Recorder()) }
        defer { officeService.stop() }
        _ = try await cluster.member("home-pc", mode: .create, allow: ["\(officeService.port)"])
        _ = try await cluster.member("office-pc", allow: ["\(officeService.port)"])
        let url = try hostile { direction, message, _ in
            guard direction == .toMember, case .control(.memberJoined(let cid, let name, let existing))? = Wire.frame(message) else { return [message] }
            let swapped = ["home-pc": "office-pc", "office-pc": "home-pc"][name] ?? name
            return [Wire.bytes(.control(.memberJoined(cid: cid, name: swapped, existing: existing)))]
        }
        let guest = try await cluster.member("guest", server: url)
        let port = try await forward(guest, to: "home-pc", port: officeService.port)

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try? connection.send(Array("meant for home".utf8))
        let (received, outcome) = drain(connection)
        XCTAssertEqual(received, 0)
        XCTAssertEqual(outcome, "reset")
        try await cluster.memberLog.wait(for: "member=guest", "the relay lists it as home-pc but it proved it is office-pc")
        XCTAssertEqual(officeReceived.all.joined(), "", "the office machine was reached under the home machine's name")
    }

    /// Someone who saw the creator's create on the wire replays it, and a
    /// member with the password claims the creator's name and key: neither
    /// takes the creator role of a creator-only group.
    func testCreatorTakeoverByReplay() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let reservation = try await ReservationClient.reserve(group: "#sco", creatorOnly: true, server: cluster.url, tls: TLSOptions(),
                                                              on: cluster.loops.next()).get()
        let captured = NIOLockedValueBox<[UInt8]?>(nil)
        let url = try hostile { direction, message, _ in
            if direction == .toRelay, case .control(.create)? = Wire.frame(message) { captured.withLockedValue { $0 = message } }
            return [message]
        }
        let creator = try await cluster.member("creator", mode: .create, allow: ["\(echo.port)"], group: "#sco", server: url,
                                               reservation: reservation)
        let bob = try await cluster.member("bob", group: "#sco")
        let toCreator = try await forward(bob, to: "creator", port: echo.port)
        XCTAssertEqual(try roundTrip(port: toCreator, message: Array("before".utf8)), Array("before".utf8))
        let create = try XCTUnwrap(captured.withLockedValue { $0 })
        let relayPort = cluster.relay.localAddress.port!

        // 1. The captured create, replayed on a connection of its own.
        let (replayer, _) = try RawWebSocket.open(port: relayPort, group: "#sco")
        defer { replayer.connection.close() }
        _ = try replayer.receiveFrame()  // a hello with a fresh challenge
        try replayer.send(create)
        guard case .control(.refused(_, let replayRefusal))? = Wire.frame(try replayer.receiveFrame()) else {
            return XCTFail("the replayed create was not refused")
        }
        XCTAssertTrue(replayRefusal.contains("not signed"), replayRefusal)

        // 2. A member with the password, under the creator's name and key.
        let (mallory, _) = try RawWebSocket.open(port: relayPort, group: "#sco")
        defer { mallory.connection.close() }
        guard case .control(.hello(_, let challenge, _, let derivation?))? = Wire.frame(try mallory.receiveFrame()) else {
            return XCTFail("no hello with the group's salt")
        }
        var claim = AuthRequest(group: "#sco", name: "creator", memberKey: try XCTUnwrap(reservation.creatorKey))
        try Cluster.keyring(group: "#sco").secrets(for: derivation).sign(&claim, challenge: challenge, identity: MemberIdentity())
        try mallory.send(Wire.bytes(.control(.join(claim))))
        guard case .control(.refused(_, let claimRefusal))? = Wire.frame(try mallory.receiveFrame()) else {
            return XCTFail("the claim to the creator's key was not refused")
        }
        XCTAssertTrue(claimRefusal.contains("does not prove its member key"), claimRefusal)
        try await cluster.relayLog.wait(for: "refused", "does not prove its member key")

        // The creator is still the creator.
        XCTAssertFalse(creator.isClosed)
        XCTAssertEqual(try roundTrip(port: toCreator, message: Array("after".utf8)), Array("after".utf8))
    }

    /// A reservation's public part, seen on the wire, is useless to anyone
    /// without the creator key's private half.
    func testReservationKeyUsedByNonCreator() async throws {
        let reservation = try await ReservationClient.reserve(group: "#club", creatorOnly: false, server: cluster.url, tls: TLSOptions(),
                                                              on: cluster.loops.next()).get()
        let stolen = reservation.publicPart
        do {
            _ = try await cluster.member("mallory", mode: .create, group: "#club", reservation: stolen)
            XCTFail("a member without the creator key created the reserved group")
        } catch let error as MemberError {
            guard case .refused(.reservedName, let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("belongs to another member key"), message)
        }
        try await cluster.relayLog.wait(for: "refused", "the reservation of #club belongs to another member key")
        // The holder of the key file creates it.
        let owner = try await cluster.member("owner", mode: .create, group: "#club", reservation: reservation)
        XCTAssertTrue(owner.created)
    }

    // MARK: Replay and reordering

    /// Frames recorded in an earlier session are played into a later one,
    /// aimed at a live stream.
    func testReplayOfPreviousSession() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let first = try await cluster.member("host", mode: .create, allow: ["\(echo.port)"])
        let recorded = NIOLockedValueBox<[[UInt8]]>([])
        let lastStream = NIOLockedValueBox<UInt32>(0)
        let currentLink = NIOLockedValueBox<HostileRelay.Link?>(nil)
        let url = try hostile { direction, message, link in
            currentLink.withLockedValue { $0 = link }
            if direction == .toMember, let (_, header) = Wire.sealed(message), header.kind == .data {
                recorded.withLockedValue { $0.append(message) }
                lastStream.withLockedValue { $0 = header.stream }
            }
            return [message]
        }
        let guest = try await cluster.member("guest", server: url)
        let port = try await forward(guest, to: "host", port: echo.port)
        XCTAssertEqual(try roundTrip(port: port, message: Array("first session".utf8)), Array("first session".utf8))
        let old = try XCTUnwrap(recorded.withLockedValue { $0.first })

        // The host restarts: a new session, with new keys.
        _ = try await first.leave().get()
        _ = try await cluster.events.wait(for: "guest") {
            if case .peerLeft(let peer, _) = $0 { return peer.name == "host" }
            return false
        }
        let second = try await cluster.member("host", allow: ["\(echo.port)"])
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("second".utf8))
        XCTAssertEqual(try connection.receive(exactly: 6), Array("second".utf8))

        // The old frame, made to look like the new host's, on the live stream.
        let stream = lastStream.withLockedValue { $0 }
        let replayed = Wire.retargeted(old, cid: second.cid, stream: stream)
        try XCTUnwrap(currentLink.withLockedValue { $0 }).inject(replayed, .toMember)

        let (_, outcome) = drain(connection)
        XCTAssertEqual(outcome, "reset")
        try await cluster.memberLog.wait(for: "member=guest", "on stream \(stream) rejected", "resetting the stream")
    }

    /// Two data frames of one stream, swapped: the first to arrive is not
    /// the next in its stream, so nothing of either is delivered.
    func testReorderWithinStream() async throws {
        let payload = randomBytes(200_000)
        let target = try TCPTestServer { connection in
            try? connection.send(payload)
            _ = try? connection.receive()
        }
        defer { target.stop() }
        let held = NIOLockedValueBox<[UInt8]?>(nil)
        let swapped = Once()
        let port = try await hostAndGuestBehindHostile(target: target.port) { direction, message, _ in
            guard direction == .toMember, let (_, header) = Wire.sealed(message), header.kind == .data, !swapped.claimed else { return [message] }
            if let first = held.withLockedValue({ $0 }) {
                _ = swapped.claim()
                return [message, first]
            }
            held.withLockedValue { $0 = message }
            return []
        }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let (received, outcome) = drain(connection)
        XCTAssertTrue(swapped.claimed)
        XCTAssertEqual(received, 0, "bytes of a reordered stream were delivered")
        XCTAssertEqual(outcome, "reset")
        try await cluster.memberLog.wait(for: "member=guest", "rejected: frame failed authentication", "resetting the stream")
    }

    /// A data frame delivered twice: the copy is refused unopened.
    func testDuplicatedFrameWithinStream() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let duplicated = Once()
        let port = try await hostAndGuestBehindHostile(target: echo.port) { direction, message, _ in
            guard direction == .toMember, let (_, header) = Wire.sealed(message), header.kind == .data, duplicated.claim() else { return [message] }
            return [message, message]
        }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("once".utf8))
        XCTAssertEqual(try connection.receive(exactly: 4), Array("once".utf8))
        let (received, outcome) = drain(connection)
        XCTAssertEqual(received, 0, "the duplicate was delivered")
        XCTAssertEqual(outcome, "reset")
        try await cluster.memberLog.wait(for: "member=guest", "rejected: replayed or reordered frame", "resetting the stream")
    }

    // MARK: Key rotation

    /// Each direction changes its key after its byte budget; a frame the
    /// relay kept from an earlier key is refused once the key moved on.
    func testRekeyAfterVolumeAndOldKeyFramesRefused() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let rekeys = NIOLockedValueBox<[HostileRelay.Direction: Int]>([:])
        let early = NIOLockedValueBox<[UInt8]?>(nil)
        let live = NIOLockedValueBox<(HostileRelay.Link, UInt32)?>(nil)
        let port = try await hostAndGuestBehindHostile(target: echo.port, rekey: Self.smallRekey) { direction, message, link in
            if let (_, header) = Wire.sealed(message) {
                if header.kind == .rekey { rekeys.withLockedValue { $0[direction, default: 0] += 1 } }
                if direction == .toMember, header.kind == .data {
                    early.withLockedValue { if $0 == nil { $0 = message } }
                    live.withLockedValue { $0 = (link, header.stream) }
                }
            }
            return [message]
        }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let payload = randomBytes(1 << 20)
        try connection.send(payload)
        XCTAssertEqual(try connection.receive(exactly: payload.count), payload, "bytes changed across key changes")
        let counted = rekeys.withLockedValue { $0 }
        XCTAssertGreaterThanOrEqual(counted[.toRelay] ?? 0, 8, "guest to host: 1 MiB at 64 KiB per key")
        XCTAssertGreaterThanOrEqual(counted[.toMember] ?? 0, 8, "host to guest: 1 MiB at 64 KiB per key")

        // The first data frame, sealed under the first key, played again.
        let first = try XCTUnwrap(early.withLockedValue { $0 })
        let (link, stream) = try XCTUnwrap(live.withLockedValue { $0 })
        // On the live stream, with a counter the current key has not reached.
        link.inject(Wire.retargeted(first, stream: stream, counter: 0x7F), .toMember)
        let (_, outcome) = drain(connection)
        XCTAssertEqual(outcome, "reset")
        try await cluster.memberLog.wait(for: "member=guest", "rejected: frame failed authentication", "resetting the stream")
    }

    /// The relay drops a key change: the two ends fall out of step, the
    /// stream in flight is reset, and the session starts over instead of
    /// staying broken, so the next connection works.
    func testDroppedKeyChangeRestartsTheSession() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let dropped = Once()
        let port = try await hostAndGuestBehindHostile(target: echo.port, rekey: Self.smallRekey) { direction, message, _ in
            if direction == .toMember, let (_, header) = Wire.sealed(message), header.kind == .rekey, dropped.claim() { return [] }
            return [message]
        }

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(randomBytes(1 << 20))
        let (_, outcome) = drain(connection)
        XCTAssertTrue(dropped.claimed)
        XCTAssertEqual(outcome, "reset")
        try await cluster.memberLog.wait(for: "member=guest", "starting the session over")
        let message = randomBytes(100_000)
        XCTAssertEqual(try roundTrip(port: port, message: message), message, "the next connection gets a fresh session")
    }

    /// The rename seen from the other side: the relay tells the home machine
    /// that the guest is someone else. The home machine refuses the
    /// handshake, and the guest's connection is reset once its handshake
    /// goes unanswered, instead of waiting for ever.
    func testRosterRenameTowardTheResponder() async throws {
        let received = Recorder()
        let service = try TCPTestServer { $0.record(into: received, outcome: Recorder()) }
        defer { service.stop() }
        let url = try hostile { direction, message, _ in
            guard direction == .toMember, case .control(.memberJoined(let cid, "guest", let existing))? = Wire.frame(message) else { return [message] }
            return [Wire.bytes(.control(.memberJoined(cid: cid, name: "boss", existing: existing)))]
        }
        _ = try await cluster.member("home-pc", mode: .create, allow: ["\(service.port)"], server: url)
        let guest = try await cluster.member("guest")
        let port = try await forward(guest, to: "home-pc", port: service.port)

        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try? connection.send(Array("hello".utf8))
        let (_, outcome) = drain(connection)
        XCTAssertEqual(outcome, "reset")
        try await cluster.memberLog.wait(for: "member=home-pc", "the relay lists it as boss but it proved it is guest")
        try await cluster.memberLog.wait(for: "member=guest", "no answer from home-pc to the end-to-end handshake within 10 s")
        XCTAssertEqual(received.all.joined(), "")
    }
}
