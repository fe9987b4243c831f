import P22PClient
import P22PWire
import XCTest

/// Per-address limits of a real relay, as members meet them.
final class AddressLimitTests: XCTestCase {
    func testGroupsCreatedPerMinuteFromOneAddress() async throws {
        let cluster = try await Cluster { $0.groupsPerMinute = 2 }
        defer { Task { await cluster.shutdown() } }
        _ = try await cluster.member("a", mode: .create, group: "one")
        _ = try await cluster.member("b", mode: .create, group: "two")
        do {
            _ = try await cluster.member("c", mode: .create, group: "three")
            XCTFail("a third create within the minute should be refused")
        } catch let MemberError.refused(code, message) {
            XCTAssertEqual(code, .rateLimited)
            XCTAssertTrue(message.hasPrefix("127.0.0.1 created 2 groups within the last minute, the most this relay allows per address; try again in "),
                          message)
            XCTAssertTrue(message.hasSuffix(" s"), message)
        }
        // Joining is not creating: the groups that exist still take members.
        _ = try await cluster.member("d", group: "one")
    }
}
