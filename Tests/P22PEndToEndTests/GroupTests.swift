import NIOCore
import P22PClient
import P22PWire
import P22PCrypto
import XCTest

final class GroupTests: XCTestCase {
    func testCreateJoinLeaveWithRosterAndEvents() async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        let alice = try await cluster.member("alice", mode: .create)
        let bob = try await cluster.member("bob")
        let carol = try await cluster.member("carol")
        XCTAssertEqual(Set([alice.cid, bob.cid, carol.cid]).count, 3, "CIDs are unique")
        XCTAssertFalse([alice.cid, bob.cid, carol.cid].contains(CID(0)))

        // Carol sees the existing members; alice sees both arrivals.
        let carolPeers = try await carol.peers().get()
        XCTAssertEqual(Set(carolPeers.map(\.name)), ["alice", "bob"])
        _ = try await cluster.events.wait(for: "alice") { $0 == .peerJoined(Peer(cid: carol.cid, name: "carol")) }

        _ = try await bob.leave().get()
        _ = try await cluster.events.wait(for: "alice") {
            if case .peerLeft(let peer, _) = $0 { return peer.name == "bob" }
            return false
        }
        _ = try await cluster.events.wait(for: "carol") {
            if case .peerLeft(let peer, _) = $0 { return peer.cid == bob.cid }
            return false
        }
        let alicePeers = try await alice.peers().get()
        XCTAssertEqual(alicePeers.map(\.name), ["carol"])
    }

    func testNamesAreUniqueAndGroupsMustExistOrNot() async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        _ = try await cluster.member("alice", mode: .create)
        await assertRefused(.nameInUse, containing: "name alice is already used") {
            _ = try await cluster.member("alice")
        }
        await assertRefused(.groupExists, containing: "already exists") {
            _ = try await cluster.member("bob", mode: .create)
        }
        await assertRefused(.noSuchGroup, containing: "does not exist") {
            _ = try await cluster.member("bob", group: "nowhere")
        }
        await assertRefused(.wrongPassword, containing: "wrong password for group demo") {
            _ = try await cluster.member("mallory", password: "guess")
        }
    }

    func testGroupEndsWithItsLastMember() async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        let alice = try await cluster.member("alice", mode: .create)
        XCTAssertEqual(cluster.relay.groupCount, 1)
        _ = try await alice.leave().get()
        for _ in 0..<100 where cluster.relay.groupCount != 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertEqual(cluster.relay.groupCount, 0)
        // The name is free again, with a new password even.
        _ = try await cluster.member("alice2", mode: .create, password: "another")
    }

    /// A member that reconnects before the relay noticed its old link died
    /// keeps its name: the stale session is replaced, and peers see it leave
    /// and come back. A different machine with that name is still refused.
    func testReconnectingMemberReplacesItsStaleSession() async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        _ = try await cluster.member("alice", mode: .create)
        let laptop = MemberIdentity()
        let first = try await cluster.member("bob", identity: laptop)
        let second = try await cluster.member("bob", identity: laptop)
        XCTAssertNotEqual(first.cid, second.cid)
        _ = try await cluster.events.wait(for: "alice") {
            if case .peerLeft(let peer, _) = $0 { return peer.cid == first.cid }
            return false
        }
        let reason = try await first.closeFuture.get()
        XCTAssertTrue(reason.contains("replaced by a new session"), reason)
        let peers = try await cluster.member("carol").peers().get()
        XCTAssertEqual(peers.filter { $0.name == "bob" }.map(\.cid), [second.cid])
        await assertRefused(.nameInUse, containing: "already used") {
            _ = try await cluster.member("bob")
        }
    }

    private func assertRefused(_ code: RefusalCode, containing text: String, _ body: () async throws -> Void,
                               file: StaticString = #filePath, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("expected refusal \(code)", file: file, line: line)
        } catch let MemberError.refused(actual, message) {
            XCTAssertEqual(actual, code, file: file, line: line)
            XCTAssertTrue(message.contains(text), "\(message)", file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }
}
