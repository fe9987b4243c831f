import P22PClient
import XCTest

/// The address a member dials is the allow-list entry the request matched,
/// never the peer's own spelling of it.
final class AllowListTests: XCTestCase {
    func testTheCheckedEntryIsWhatGetsDialled() throws {
        let list = try AllowList(parsing: ["22", "db.lan:5432"])
        XCTAssertEqual(list.checkedAddress(for: TargetAddress(host: "LOCALHOST", port: 22)), TargetAddress(host: "127.0.0.1", port: 22))
        XCTAssertEqual(list.checkedAddress(for: TargetAddress(host: "DB.lan", port: 5432)), TargetAddress(host: "db.lan", port: 5432))
        XCTAssertNil(list.checkedAddress(for: TargetAddress(host: "127.0.0.1.", port: 22)), "another spelling is another host")
        XCTAssertNil(list.checkedAddress(for: TargetAddress(host: "::1", port: 22)), "another family is not allowed by 127.0.0.1")
        XCTAssertNil(list.checkedAddress(for: TargetAddress(host: "127.0.0.1", port: 23)))
    }
}
