import Crypto
import NIOEmbedded
@testable import P22PRelay
import P22PCrypto
import P22PWire
import XCTest

final class GroupCapacityTests: XCTestCase {
    static let derivation = KeyDerivation(salt: Array(repeating: 0, count: 16), logN: 17, blockSize: 8, parallelism: 1)

    /// Every non-zero CID can be handed out, no two members share one, and the
    /// 65,536th member is refused; a CID freed by a leaver is used again.
    func testGroupHoldsSixtyFiveThousandFiveHundredThirtyFiveMembers() throws {
        let key = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation
        let group = RelayGroup(name: "big", verifier: try XCTUnwrap(AuthVerifier(publicKey: Array(key))), derivation: Self.derivation)
        let channel = EmbeddedChannel()
        var seen = Set<UInt16>()
        for index in 0..<Limits.maxMembersPerGroup {
            let (link, _, _) = try group.admit(name: "m\(index)", memberKey: [], limit: .max) { MemberLink(cid: $0, name: "m\(index)", channel: channel, framer: .stream, connection: nil, configuration: RelayConfiguration(), stats: RelayStats()) }
            XCTAssertTrue(seen.insert(link.cid.rawValue).inserted)
        }
        XCTAssertEqual(seen.count, 65535)
        XCTAssertFalse(seen.contains(0))
        XCTAssertThrowsError(try group.admit(name: "one-too-many", memberKey: [], limit: .max) { MemberLink(cid: $0, name: "x", channel: channel, framer: .stream, connection: nil, configuration: RelayConfiguration(), stats: RelayStats()) })
        XCTAssertThrowsError(try group.admit(name: "m5", memberKey: [1], limit: .max) { MemberLink(cid: $0, name: "m5", channel: channel, framer: .stream, connection: nil, configuration: RelayConfiguration(), stats: RelayStats()) })

        _ = group.remove(CID(300))
        let (again, everyone, _) = try group.admit(name: "late", memberKey: [], limit: .max) { MemberLink(cid: $0, name: "late", channel: channel, framer: .stream, connection: nil, configuration: RelayConfiguration(), stats: RelayStats()) }
        XCTAssertEqual(again.cid, CID(300))
        XCTAssertEqual(everyone.count, 65535)
    }

    func testConfiguredLimitIsEnforced() throws {
        let key = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation
        let group = RelayGroup(name: "small", verifier: try XCTUnwrap(AuthVerifier(publicKey: Array(key))), derivation: Self.derivation)
        let channel = EmbeddedChannel()
        for index in 0..<3 {
            _ = try group.admit(name: "m\(index)", memberKey: [], limit: 3) { MemberLink(cid: $0, name: "m\(index)", channel: channel, framer: .stream, connection: nil, configuration: RelayConfiguration(), stats: RelayStats()) }
        }
        XCTAssertThrowsError(try group.admit(name: "m3", memberKey: [], limit: 3) { MemberLink(cid: $0, name: "m3", channel: channel, framer: .stream, connection: nil, configuration: RelayConfiguration(), stats: RelayStats()) })
    }
}
