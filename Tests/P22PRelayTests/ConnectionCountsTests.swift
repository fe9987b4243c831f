import NIOCore
@testable import P22PRelay
import XCTest

/// `--max-connections-per-address` and `--groups-per-minute`, as the relay counts them.
final class ConnectionCountsTests: XCTestCase {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func testOpenConnectionsPerAddress() {
        var counts = ConnectionCounts(limit: 2, logInterval: .seconds(10))
        XCTAssertEqual(counts.open("203.0.113.7", now: start), .opened)
        XCTAssertEqual(counts.open("203.0.113.7", now: start), .opened)
        XCTAssertEqual(counts.open("203.0.113.7", now: start), .refused(log: true, unlogged: 1))
        XCTAssertEqual(counts.open("198.51.100.9", now: start), .opened, "other addresses are not affected")
        counts.close("203.0.113.7")
        XCTAssertEqual(counts.open("203.0.113.7", now: start), .opened, "a closed connection frees its place")
        counts.close("203.0.113.7")
        counts.close("203.0.113.7")
        counts.close("198.51.100.9")
        XCTAssertEqual(counts.count, 0, "an address without connections is not held")
        counts.close("192.0.2.1")   // never opened: no effect
        XCTAssertEqual(counts.openConnections(from: "192.0.2.1"), 0)
    }

    func testAFloodOfRefusalsIsLoggedOncePerInterval() {
        var counts = ConnectionCounts(limit: 1, logInterval: .seconds(10))
        XCTAssertEqual(counts.open("203.0.113.7", now: start), .opened)
        XCTAssertEqual(counts.open("203.0.113.7", now: start), .refused(log: true, unlogged: 1))
        for second in 1...9 {
            XCTAssertEqual(counts.open("203.0.113.7", now: start + .seconds(Int64(second))), .refused(log: false, unlogged: second))
        }
        XCTAssertEqual(counts.open("203.0.113.7", now: start + .seconds(10)), .refused(log: true, unlogged: 10))
        XCTAssertEqual(counts.open("203.0.113.7", now: start + .seconds(11)), .refused(log: false, unlogged: 1))
    }

    func testGroupCreatesPerAddressAndMinute() throws {
        var configuration = RelayConfiguration()
        configuration.groupsPerMinute = 2
        let limits = AddressLimits(configuration: configuration)
        XCTAssertNil(limits.createRefusal(from: "203.0.113.7", now: start))
        limits.recordCreate(from: "203.0.113.7", now: start)
        limits.recordCreate(from: "203.0.113.7", now: start + .seconds(20))
        let refusal = try XCTUnwrap(limits.createRefusal(from: "203.0.113.7", now: start + .milliseconds(30_500)))
        XCTAssertEqual(refusal.code, .rateLimited)
        XCTAssertEqual(refusal.message, "203.0.113.7 created 2 groups within the last minute, the most this relay allows per address; try again in 30 s")
        XCTAssertNil(limits.createRefusal(from: "198.51.100.9", now: start + .seconds(30)))
        XCTAssertNil(limits.createRefusal(from: "203.0.113.7", now: start + .seconds(60)))
    }
}
