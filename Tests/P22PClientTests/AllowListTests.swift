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

    func testUDPEntriesAreApartFromTCPEntries() throws {
        let list = try AllowList(parsing: ["22", "9000/udp", "db.lan:53/UDP", "8080/tcp"])
        XCTAssertTrue(list.permits(TargetAddress(host: "127.0.0.1", port: 22)))
        XCTAssertFalse(list.permits(TargetAddress(host: "127.0.0.1", port: 22), .udp), "a bare entry is TCP only")
        XCTAssertTrue(list.permits(TargetAddress(host: "localhost", port: 9000), .udp))
        XCTAssertFalse(list.permits(TargetAddress(host: "127.0.0.1", port: 9000)), "a /udp entry is UDP only")
        XCTAssertEqual(list.checkedAddress(for: TargetAddress(host: "DB.LAN", port: 53), .udp), TargetAddress(host: "db.lan", port: 53))
        XCTAssertEqual(list.descriptions, ["127.0.0.1:22", "127.0.0.1:8080", "127.0.0.1:9000/udp", "db.lan:53/udp"])
        var changed = list
        changed.deny(TargetAddress(host: "127.0.0.1", port: 9000), .udp)
        XCTAssertFalse(changed.permits(TargetAddress(host: "127.0.0.1", port: 9000), .udp))
        XCTAssertThrowsError(try AllowList(parsing: ["9000/sctp"])) { error in
            XCTAssertTrue("\(error)".contains("with /udp at the end for UDP"), "\(error)")
        }
    }

    func testForwardSpecTakesAUDPSuffix() throws {
        let udp = try ForwardSpec(parsing: "home:27015:27015/udp")
        XCTAssertEqual(udp.ipProtocol, .udp)
        XCTAssertEqual(udp.target, TargetAddress(host: "127.0.0.1", port: 27015))
        XCTAssertEqual(udp.description, "127.0.0.1:27015 -> home 127.0.0.1:27015/udp")
        let wide = try ForwardSpec(parsing: "home:0.0.0.0:5353:[::1]:53/udp")
        XCTAssertEqual(wide.listen, TargetAddress(host: "0.0.0.0", port: 5353))
        XCTAssertEqual(wide.target, TargetAddress(host: "::1", port: 53))
        XCTAssertEqual(try ForwardSpec(parsing: "home:2222:22").ipProtocol, .tcp)
        XCTAssertThrowsError(try ForwardSpec(parsing: "home:27015/udp")) { error in
            XCTAssertTrue("\(error)".contains("home:27015/udp"), "the error quotes what was typed: \(error)")
        }
    }
}
