@testable import P22PClient
import XCTest

final class BackoffTests: XCTestCase {
    func testDelaysGrowExponentiallyWithJitterWithinBounds() {
        let policy = ReconnectPolicy(initialDelay: .milliseconds(500), maxDelay: .seconds(30), stablePeriod: .seconds(60))
        var backoff = Backoff(policy: policy)
        var steps: [Duration] = []
        for _ in 0..<12 { steps.append(backoff.nextDelay()) }
        for delay in steps {
            XCTAssertGreaterThanOrEqual(delay, policy.initialDelay)
            XCTAssertLessThanOrEqual(delay, policy.maxDelay)
        }
        // Step n lies in [0.5, 1] x min(max, initial x 2^n).
        XCTAssertLessThanOrEqual(steps[0], .milliseconds(500))
        XCTAssertGreaterThanOrEqual(steps[3], .seconds(2))
        XCTAssertLessThanOrEqual(steps[3], .seconds(4))
        XCTAssertGreaterThanOrEqual(steps[11], .seconds(15))

        backoff.reset()
        XCTAssertEqual(backoff.nextDelay(), Duration.milliseconds(500))
    }

    func testJitterSpreadsAFleet() {
        let policy = ReconnectPolicy(initialDelay: .seconds(1), maxDelay: .seconds(60), stablePeriod: .seconds(60))
        let fifth = (0..<50).map { _ -> Duration in
            var backoff = Backoff(policy: policy)
            for _ in 0..<4 { _ = backoff.nextDelay() }
            return backoff.nextDelay()
        }
        XCTAssertGreaterThan(Set(fifth).count, 40, "members that lost the relay together must not retry together")
    }
}
