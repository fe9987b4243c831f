import NIOConcurrencyHelpers
import NIOCore

/// Slows down password guessing: each client address may fail to join at
/// most `limit` times per `window`; further attempts are refused unchecked
/// until the window has passed.
final class JoinLimiter: @unchecked Sendable {  // every mutable field is read and written under `lock`
    private let lock = NIOLock()
    private let limit: Int
    private let window: TimeAmount
    private var failures: [String: [NIODeadline]] = [:]

    init(limit: Int, window: TimeAmount) {
        self.limit = limit
        self.window = window
    }

    /// Whether `address` may try now.
    func allows(_ address: String, now: NIODeadline = .now()) -> Bool {
        lock.withLock {
            let recent = (failures[address] ?? []).filter { now - $0 < window }
            failures[address] = recent.isEmpty ? nil : recent
            return recent.count < limit
        }
    }

    func recordFailure(_ address: String, now: NIODeadline = .now()) {
        lock.withLock {
            failures[address, default: []].append(now)
            // Bound the table: forget the oldest addresses if it grows large.
            if failures.count > 100_000 { failures.removeAll() }
        }
    }
}
