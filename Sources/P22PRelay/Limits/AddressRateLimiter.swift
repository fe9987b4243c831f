import NIOConcurrencyHelpers
import NIOCore

/// At most `limit` events per client address per `window`: failed joins
/// (which slows down password guessing; further joins are refused unchecked
/// until the window has passed) and reservation requests. The table of
/// addresses is bounded and forgets the least recently used first; see
/// `RecentEvents`.
final class AddressRateLimiter: @unchecked Sendable {  // `events` is read and written under `lock`
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
