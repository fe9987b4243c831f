import NIOCore

extension SocketAddress {
    /// How a person writes it: 127.0.0.1:8001, [::1]:8001, or a socket's path.
    /// NIO's own description (`[IPv4]127.0.0.1/127.0.0.1:8001`) is for debugging.
    public var readable: String {
        switch self {
        case .v4:
            return "\(ipAddress ?? "?"):\(port ?? 0)"
        case .v6:
            return "[\(ipAddress ?? "?")]:\(port ?? 0)"
        case .unixDomainSocket:
            return pathname ?? "a Unix socket"
        }
    }
}

/// A host and port as a person writes them: relay.example.net:443,
/// 127.0.0.1:8001, [::1]:8001 (an IPv6 address needs its brackets).
public func readableAddress(host: String, port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}
