import NIOCore
@testable import P22PRelay
import XCTest

/// The per-address rate limit behind failed joins, reservations and group
/// creates: a sliding window per address in a bounded, least-recently-used table.
final class RecentEventsTests: XCTestCase {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func testLimitPerWindowAndWhenToRetry() {
        var table = RecentEvents(limit: 3, window: .seconds(60), capacity: 10)
        for second in 0..<3 {
            XCTAssertEqual(table.verdict(for: "192.0.2.1", now: start + .seconds(Int64(second))), .allowed)
            table.record("192.0.2.1", now: start + .seconds(Int64(second)))
        }
        XCTAssertEqual(table.verdict(for: "192.0.2.1", now: start + .seconds(10)), .limited(retryAfter: .seconds(50)))
        XCTAssertEqual(table.verdict(for: "192.0.2.2", now: start + .seconds(10)), .allowed, "other addresses are not affected")
        XCTAssertEqual(table.verdict(for: "192.0.2.1", now: start + .seconds(60)), .allowed, "the oldest event left the window")
        table.record("192.0.2.1", now: start + .seconds(60))
        XCTAssertEqual(table.verdict(for: "192.0.2.1", now: start + .milliseconds(60_500)), .limited(retryAfter: .milliseconds(500)))
        XCTAssertEqual(table.verdict(for: "192.0.2.1", now: start + .seconds(200)), .allowed)
        XCTAssertEqual(table.count, 0, "an address with no recent events is dropped when looked at")
    }

    func testAnAddressKeepsAtMostLimitTimes() {
        var table = RecentEvents(limit: 2, window: .seconds(60), capacity: 10)
        for second in 0..<1000 { table.record("192.0.2.1", now: start + .milliseconds(Int64(second))) }
        XCTAssertEqual(table.verdict(for: "192.0.2.1", now: start + .seconds(2)), .limited(retryAfter: .milliseconds(58_998)))
    }

    func testTheLeastRecentlyUsedAddressMakesRoom() {
        var table = RecentEvents(limit: 1, window: .seconds(60), capacity: 3)
        for address in ["a", "b", "c"] { table.record(address, now: start) }
        XCTAssertEqual(table.addressesByAge, ["a", "b", "c"])
        _ = table.verdict(for: "a", now: start + .seconds(1))   // asking about "a" uses it
        table.record("d", now: start + .seconds(2))
        XCTAssertEqual(table.addressesByAge, ["c", "a", "d"], "b was the least recently used")
        XCTAssertEqual(table.count, 3)
        XCTAssertEqual(table.verdict(for: "b", now: start + .seconds(3)), .allowed)
        XCTAssertEqual(table.verdict(for: "a", now: start + .seconds(3)), .limited(retryAfter: .seconds(57)))
    }

    /// The old limiter emptied its table at 100,000 addresses, so a flood of
    /// failures from fresh addresses set every address free. Now the table
    /// stays at its capacity, and an address that keeps trying stays limited
    /// however many others fail meanwhile.
    func testAFloodOfAddressesDoesNotResetALimitedOne() {
        let limiter = AddressRateLimiter(limit: 10, window: .seconds(60), capacity: 1000)
        for _ in 0..<10 { limiter.recordFailure("203.0.113.7", now: start) }
        XCTAssertFalse(limiter.allows("203.0.113.7", now: start))
        for index in 0..<250_000 {
            let now = start + .microseconds(Int64(index))
            limiter.recordFailure("2001:db8::\(String(index, radix: 16))", now: now)
            if index % 500 == 0 { XCTAssertFalse(limiter.allows("203.0.113.7", now: now), "after \(index) other addresses") }
            XCTAssertLessThanOrEqual(limiter.count, 1000)
        }
        XCTAssertFalse(limiter.allows("203.0.113.7", now: start + .seconds(1)))
        XCTAssertEqual(limiter.count, 1000)
        // Fewer other addresses than the capacity cannot push out even a quiet one.
        let quiet = AddressRateLimiter(limit: 10, window: .seconds(60), capacity: 1000)
        for _ in 0..<10 { quiet.recordFailure("203.0.113.7", now: start) }
        for index in 0..<999 { quiet.recordFailure("quiet-\(index)", now: start) }
        XCTAssertFalse(quiet.allows("203.0.113.7", now: start + .seconds(1)))
    }
}
