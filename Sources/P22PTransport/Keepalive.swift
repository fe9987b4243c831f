import NIOCore

/// WebSocket-level liveness: a ping every `interval`, and the link is declared
/// dead when nothing at all has arrived for `timeout` (a silently dropped peer
/// sends no FIN, so only silence can reveal it).
public struct Keepalive: Sendable, Equatable {
    public var interval: TimeAmount
    public var timeout: TimeAmount

    public init(interval: TimeAmount, timeout: TimeAmount) {
        self.interval = interval
        self.timeout = timeout
    }

    /// A ping every 15 s; a link silent for 45 s is closed at that moment.
    public static let standard = Keepalive(interval: .seconds(15), timeout: .seconds(45))
}
