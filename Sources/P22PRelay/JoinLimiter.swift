import NIOConcurrencyHelpers
import NIOCore

/// Slows down password guessing: each client address may fail to join at
/// most `limit` times per `window`; further attempts are refused unchecked
/// until the window has passed. (The relay also counts reservation requests
/// with one.) The table of addresses is bounded and forgets the least
/// recently used first; see `RecentEvents`.
final class JoinLimiter: @unchecked Sendable {  // `events` is read and written under `lock`
    private let lock = NIOLock()
    private var events: RecentEvents

    init(limit: Int, window: TimeAmount, capacity: Int = RelayConfiguration().addressTableSize) {
        events = RecentEvents(limit: limit, window: window, capacity: capacity)
    }

    /// Whether `address` may try now.
    func allows(_ address: String, now: NIODeadline = .now()) -> Bool {
        verdict(for: address, now: now) == .allowed
    }

    /// Whether `address` may try now, and if not, for how long it may not.
    func verdict(for address: String, now: NIODeadline = .now()) -> RecentEvents.Verdict {
        lock.withLock { events.verdict(for: address, now: now) }
    }

    func recordFailure(_ address: String, now: NIODeadline = .now()) {
        lock.withLock { events.record(address, now: now) }
    }

    /// Addresses held (at most the capacity).
    var count: Int { lock.withLock { events.count } }
}
