import NIOConcurrencyHelpers
import NIOCore
import P22PWire

/// The limits the relay keeps per client address, shared by every
/// connection: open connections and groups created per minute. (Failed
/// joins and reservation requests have their own `AddressRateLimiter`s.) The
/// client address is the TCP peer's, or what a trusted proxy said it is;
/// see `ConnectionOrigin`.
final class AddressLimits: @unchecked Sendable {  // `connections` and `creates` are read and written under `lock`
    private let lock = NIOLock()
    private var connections: ConnectionCounts
    private var creates: RecentEvents
    let trustedProxies: TrustedProxies
    let maxConnections: Int
    private let groupsPerMinute: Int

    init(configuration: RelayConfiguration) {
        maxConnections = configuration.maxConnectionsPerAddress
        groupsPerMinute = configuration.groupsPerMinute
        connections = ConnectionCounts(limit: configuration.maxConnectionsPerAddress)
        creates = RecentEvents(limit: configuration.groupsPerMinute, window: .seconds(60), capacity: configuration.addressTableSize)
        trustedProxies = configuration.trustedProxies
    }

    /// Counts a new connection from `address`; every `.opened` must be
    /// matched by a `closeConnection`.
    func openConnection(from address: String, now: NIODeadline = .now()) -> ConnectionCounts.Outcome {
        lock.withLock { connections.open(address, now: now) }
    }

    func closeConnection(from address: String) {
        lock.withLock { connections.close(address) }
    }

    func openConnections(from address: String) -> Int {
        lock.withLock { connections.openConnections(from: address) }
    }

    /// Why `address` may not create a group now, or nil if it may.
    func createRefusal(from address: String, now: NIODeadline = .now()) -> (code: RefusalCode, message: String)? {
        let verdict = lock.withLock { creates.verdict(for: address, now: now) }
        guard case .limited(let retryAfter) = verdict else { return nil }
        let seconds = max(1, (retryAfter.nanoseconds + 999_999_999) / 1_000_000_000)
        return (.rateLimited, "\(address) created \(groupsPerMinute) groups within the last minute, the most this relay allows per address; try again in \(seconds) s")
    }

    /// A group was created from `address`.
    func recordCreate(from address: String, now: NIODeadline = .now()) {
        lock.withLock { creates.record(address, now: now) }
    }
}
