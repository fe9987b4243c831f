import P22PWire

/// Why joining or staying in a group failed, in words for the user.
public enum MemberError: Error, Equatable, CustomStringConvertible {
    case cannotConnect(ServerURL, reason: String)
    /// The proxy to the relay failed; `reason` follows "proxy HOST:PORT".
    case proxyFailed(ProxyURL, reason: String)
    case relayRejected(status: Int, message: String)
    case refused(RefusalCode, message: String)
    case protocolViolation(String)
    case disconnected(reason: String)
    case invalidConfiguration(String)
    case unknownPeer(String)
    /// A session's link is down between two joins.
    case linkDown(group: String)

    public var description: String {
        switch self {
        case .cannotConnect(let url, let reason): "cannot connect to \(url): \(reason)"
        case .proxyFailed(let proxy, let reason): "proxy \(proxy.address) \(reason)"
        case .relayRejected(let status, let message):
            "the relay refused the WebSocket upgrade (HTTP \(status))" + (message.isEmpty ? "" : ": \(message)")
        case .refused(_, let message): message
        case .protocolViolation(let what): "protocol error: \(what)"
        case .disconnected(let reason): "disconnected from the relay: \(reason)"
        case .invalidConfiguration(let what): what
        case .unknownPeer(let peer): "no member \(peer) in the group (see peers)"
        case .linkDown(let group): "not in group \(group) right now: the link to the relay is down; it reconnects by itself"
        }
    }

    /// True when the relay could not be reached at all (exit status 2 in the tools).
    public var isConnectFailure: Bool {
        switch self {
        case .cannotConnect, .proxyFailed: true
        default: false
        }
    }
}
