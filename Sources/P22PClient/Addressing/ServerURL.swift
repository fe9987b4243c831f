import P22PTransport

/// A relay address: `ws://host:port[/prefix]` or `wss://…` for a WebSocket,
/// `tcp://host:port` or `tls://host:port` for p22p's stream framing on a
/// relay's `--listen-tcp` port.
public struct ServerURL: Hashable, Sendable, CustomStringConvertible {
    /// How the link is framed: a WebSocket, or p22p's own stream framing.
    public enum Transport: Hashable, Sendable {
        case webSocket, stream
    }

    public var transport: Transport = .webSocket
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path prefix for relays behind a proxy that mounts them under a path.
    public var pathPrefix: String

    public static let defaultPort = 39453
    public static let `default` = ServerURL(secure: false, host: "127.0.0.1", port: defaultPort, pathPrefix: "")

    public init(secure: Bool, host: String, port: Int, pathPrefix: String) {
        self.secure = secure
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix
    }

    static let schemes: [(scheme: String, transport: Transport, secure: Bool)] = [
        ("ws", .webSocket, false), ("wss", .webSocket, true), ("tcp", .stream, false), ("tls", .stream, true),
    ]

    public init(parsing text: String) throws(AddressError) {
        let expected = "ws://HOST[:PORT], wss://HOST[:PORT], tcp://HOST:PORT or tls://HOST:PORT"
        guard let (scheme, transport, secure) = Self.schemes.first(where: { text.hasPrefix($0.scheme + "://") }) else {
            throw .malformed(text, expected: expected)
        }
        let rest = text.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" }
        var prefix = String(rest.dropFirst(authority.count))
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let parts = try AddressParts.split(String(authority))
        guard !parts.isEmpty, !parts[0].isEmpty, parts.count <= 2 else { throw .malformed(text, expected: expected) }
        if transport == .stream {
            // A stream relay has no well-known port and no paths to mount under.
            guard parts.count == 2, prefix.isEmpty else { throw .malformed(text, expected: "\(scheme)://HOST:PORT (the relay's --listen-tcp port)") }
        }
        let port = parts.count == 2 ? try AddressParts.port(parts[1], in: text) : (secure ? 443 : Self.defaultPort)
        self.init(secure: secure, host: parts[0], port: port, pathPrefix: prefix)
        self.transport = transport
    }

    public var scheme: String {
        switch (transport, secure) {
        case (.webSocket, false): "ws"
        case (.webSocket, true): "wss"
        case (.stream, false): "tcp"
        case (.stream, true): "tls"
        }
    }

    /// relay.example.net:443: where the member connects.
    public var address: String { readableAddress(host: host, port: port) }

    public var description: String {
        let host = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(host):\(port)\(pathPrefix)"
    }
}

extension ServerURL {
    /// How a member frames what it sends on a link to this relay.
    public var framer: LinkFramer {
        transport == .stream ? .stream : .webSocket(WebSocketFramer(role: .client))
    }
}
