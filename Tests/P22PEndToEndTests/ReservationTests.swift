@preconcurrency import Crypto
import Foundation
import Logging
@testable import P22PClient
import P22PCrypto
import P22PRelay
import P22PWire
import XCTest

/// Reserved '#' groups, creator-only mode, and the state directory that
/// keeps reservations across restarts.
final class ReservationTests: ProcessTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-res-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func p22p(_ arguments: [String]) throws -> ToolProcess {
        try run("p22p", arguments, environment: ["P22P_PASSWORD": "club password"])
    }

    private func finish(_ arguments: [String]) async throws -> (Int32?, ToolProcess) {
        let process = try p22p(arguments)
        return (try await process.waitForExit(timeout: 20), process)
    }

    func testReservedGroupNeedsItsKeyAndCanBeExtended() async throws {
        let state = directory.appendingPathComponent("state").path
        let relay = try await startRelay(["--state-dir", state])
        let key = directory.appendingPathComponent("club.key").path

        let (reserved, reserve) = try await finish(["reserve", "#club", "--mode", "all", "--out", key, "--server", relay.url])
        XCTAssertEqual(reserved, 0, reserve.output)
        XCTAssertTrue(reserve.output.contains("reserved #club (all) until "), reserve.output)
        let reservation = try XCTUnwrap(Reservation.decode(Array(try Data(contentsOf: URL(fileURLWithPath: key)))))
        XCTAssertEqual(reservation.group, "#club")
        let posix = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        XCTAssertEqual(posix, 0o600, "a key file is a secret")

        let (again, second) = try await finish(["reserve", "#club", "--out", directory.appendingPathComponent("x.key").path, "--server", relay.url])
        XCTAssertEqual(again, 1)
        XCTAssertTrue(second.standardError.contains("already reserved until"), second.standardError)

        let (plainStatus, plain) = try await finish(["create", "#club", "--server", relay.url, "--name", "squatter"])
        XCTAssertEqual(plainStatus, 1)
        XCTAssertTrue(plain.standardError.contains("group #club is reserved: create it with its reservation key"), plain.standardError)

        let owner = try p22p(["create", "#club", "--server", relay.url, "--name", "owner", "--reservation", key])
        try await owner.waitForLine(containing: "created group #club as owner")
        let friend = try p22p(["join", "#club", "--server", relay.url, "--name", "friend"])
        try await friend.waitForLine(containing: "joined group #club as friend")

        try await Task.sleep(nanoseconds: 1_100_000_000)
        let (extended, extend) = try await finish(["extend", key, "--server", relay.url])
        XCTAssertEqual(extended, 0, extend.output)
        let renewed = try XCTUnwrap(Reservation.decode(Array(try Data(contentsOf: URL(fileURLWithPath: key)))))
        XCTAssertGreaterThan(renewed.expires, reservation.expires)

        // An expired key (signed by this relay, but out of date) is refused.
        let signing = try Curve25519.Signing.PrivateKey(rawRepresentation: try Data(contentsOf: URL(fileURLWithPath: state + "/signing.key")))
        let old = try Reservation.issue(group: "#club", creatorOnly: false, creatorKey: MemberIdentity().publicKey, expires: 1_000_000, key: signing)
        let oldPath = directory.appendingPathComponent("old.key").path
        try Data(old.encoded()).write(to: URL(fileURLWithPath: oldPath))
        let (expiredStatus, expired) = try await finish(["extend", oldPath, "--server", relay.url])
        XCTAssertEqual(expiredStatus, 1)
        XCTAssertTrue(expired.standardError.contains("expired on 1970-01-12"), expired.standardError)
        // A key from another relay is refused too.
        let forged = try Reservation.issue(group: "#club", creatorOnly: false, creatorKey: MemberIdentity().publicKey,
                                           expires: Int64(Date().timeIntervalSince1970) + 1000,
                                           key: Curve25519.Signing.PrivateKey())
        try Data(forged.encoded()).write(to: URL(fileURLWithPath: oldPath))
        let (forgedStatus, forgedRun) = try await finish(["extend", oldPath, "--server", relay.url])
        XCTAssertEqual(forgedStatus, 1)
        XCTAssertTrue(forgedRun.standardError.contains("not signed by this relay"), forgedRun.standardError)
    }

    /// In a creator-only group members reach the creator, never each other;
    /// when the creator leaves the group ends and members are told why.
    func testCreatorOnlyGroup() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        let store = try await ReservationClient.reserve(group: "#sco", creatorOnly: true, server: cluster.url, tls: TLSOptions(),
                                                        on: cluster.loops.next()).get()
        XCTAssertTrue(store.creatorOnly)
        let creatorConfiguration = { () -> MemberConfiguration in
            var configuration = MemberConfiguration(server: cluster.url, group: "#sco", name: "creator", mode: .create,
                                                    allowList: try! AllowList(parsing: ["\(echo.port)"]))
            configuration.reservation = store
            return configuration
        }()
        let creator = try await Member.connect(creatorConfiguration, keyring: Cluster.keyring(group: "#sco"),
                                               eventLoop: cluster.loops.next(), logger: Logger(label: "creator")).get()
        let alice = try await cluster.member("alice", allow: ["\(echo.port)"], group: "#sco")
        let bob = try await cluster.member("bob", group: "#sco")

        // Member to creator: allowed.
        let toCreator = try await cluster.addForward(on: bob, ForwardSpec(peer: .name("creator"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                                                             target: TargetAddress(host: "127.0.0.1", port: echo.port))).get()
        XCTAssertEqual(try roundTrip(port: toCreator, message: Array("hi".utf8)), Array("hi".utf8))
        // Member to member: refused by the relay, and bob is told.
        let toAlice = try await cluster.addForward(on: bob, ForwardSpec(peer: .name("alice"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                                                           target: TargetAddress(host: "127.0.0.1", port: echo.port))).get()
        let connection = try TCPConnection.connect(port: toAlice)
        defer { connection.close() }
        // The reset may already be there when we send: either way nothing may cross.
        try? connection.send(Array("hi".utf8))
        XCTAssertThrowsError(try connection.receive(exactly: 2), "bytes crossed between two members of a creator-only group")
        _ = try await cluster.events.wait(for: "bob") {
            if case .streamReset(_, _, let reason) = $0 { return reason.contains("creator-only") }
            return false
        }

        // The creator reconnects before the relay noticed its old link died:
        // its new session is still the creator, for routing and for the end.
        var again = creatorConfiguration
        again.mode = .join
        let returned = try await Member.connect(again, keyring: Cluster.keyring(group: "#sco"),
                                                eventLoop: cluster.loops.next(), logger: Logger(label: "creator")).get()
        let reason0 = try await creator.closeFuture.get()
        XCTAssertTrue(reason0.contains("replaced"), reason0)
        try await Task.sleep(nanoseconds: 200_000_000)
        XCTAssertEqual(try roundTrip(port: toCreator, message: Array("back".utf8)), Array("back".utf8))

        _ = try await returned.leave().get()
        let reason = try await alice.closeFuture.get()
        XCTAssertTrue(reason.contains("the creator of #sco left; the group has ended"), reason)
    }

    /// kill -9 in the middle of a burst of reservations: after a restart the
    /// state directory reads back, and every key a client received works.
    func testStateSurvivesAKillDuringAReservationBurst() async throws {
        let state = directory.appendingPathComponent("state").path
        var relay = try await startRelay(["--state-dir", state, "--reservations-per-hour", "1000"])
        var burst: [(ToolProcess, String)] = []
        for index in 0..<24 {
            let key = directory.appendingPathComponent("k\(index).key").path
            burst.append((try p22p(["reserve", "#burst\(index)", "--out", key, "--server", relay.url]), key))
        }
        // Kill as soon as the first key is out, while the rest are in flight.
        let deadline = Date().addingTimeInterval(20)
        while !burst.contains(where: { FileManager.default.fileExists(atPath: $0.1) }), Date() < deadline {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        relay.tool.send(SIGKILL)
        _ = try await relay.tool.waitForExit()
        for (process, _) in burst { _ = try await process.waitForExit(timeout: 20) }

        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state + "/reservations.json"))) as? [String: Any]
        let saved = try XCTUnwrap(records, "reservations.json must stay valid JSON")
        let granted = burst.filter { $0.0.process.terminationStatus == 0 }
        XCTAssertFalse(granted.isEmpty, "the kill should come after at least one key was granted")
        print("\(granted.count) of \(burst.count) reservations granted before the kill; \(saved.count) on disk")
        XCTAssertGreaterThanOrEqual(saved.count, granted.count, "a granted reservation was lost")

        relay = try await startRelay(["--state-dir", state, "--reservations-per-hour", "1000"])
        for (_, key) in granted {
            let (status, extend) = try await finish(["extend", key, "--server", relay.url])
            XCTAssertEqual(status, 0, "\(key): \(extend.standardError)")
        }
    }
}
