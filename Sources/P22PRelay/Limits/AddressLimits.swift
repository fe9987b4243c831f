import NIOConcurrencyHelpers
import NIOCore

/// The limits the relay keeps per client address, shared by every
/// connection: open connections. (Failed
/// joins and reservation requests have their own `JoinLimiter`s.) The
/// client address is the TCP peer's, or what a trusted proxy said it is;
/// see `ConnectionOrigin`.
final class AddressLimits: @unchecked Sendable {  // `connections` is read and written under `lock`
    private let lock = NIOLock()
    private var connections: ConnectionCounts
    let trustedProxies: TrustedProxies
    let maxConnections: Int

    init(configuration: RelayConfiguration) {
        maxConnections = configuration.maxConnectionsPerAddress
        connections = ConnectionCounts(limit: configuration.maxConnectionsPerAddress)
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
}
