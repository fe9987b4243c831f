import Foundation
import NIOCore

/// When to try the relay again after a failure.
public struct ReconnectPolicy: Equatable, Sendable {
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// A link that stayed up this long resets the backoff to `initialDelay`.
    public var stablePeriod: Duration

    public init(initialDelay: Duration, maxDelay: Duration, stablePeriod: Duration) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.stablePeriod = stablePeriod
    }

    public static let standard = ReconnectPolicy(initialDelay: .milliseconds(500), maxDelay: .seconds(30), stablePeriod: .seconds(60))
}

/// Reconnection delays: exponential from `initialDelay`, capped at
/// `maxDelay`, each drawn with jitter from the upper half of its step so a
/// fleet that lost the same relay does not come back in lockstep.
struct Backoff: Equatable {
    let policy: ReconnectPolicy
    private(set) var attempt = 0

    init(policy: ReconnectPolicy) { self.policy = policy }

    mutating func nextDelay<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Duration {
        let step = min(policy.maxDelay, policy.initialDelay * (1 << min(attempt, 30)))
        attempt += 1
        let fraction = Double.random(in: 0.5...1.0, using: &generator)
        return max(policy.initialDelay, step * fraction)
    }

    mutating func nextDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    /// The link stayed up for `policy.stablePeriod`: start again from the bottom.
    mutating func reset() { attempt = 0 }
}

extension Duration {
    /// "500 ms", "1.5 s": for log lines.
    public var readable: String {
        let milliseconds = TimeAmount(self).nanoseconds / 1_000_000
        return milliseconds < 1000 ? "\(milliseconds) ms" : String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}
