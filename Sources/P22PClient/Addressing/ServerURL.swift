/// A relay address: `ws://host:port[/prefix]` or `wss://…`.
public struct ServerURL: Hashable, Sendable, CustomStringConvertible {
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

    public init(parsing text: String) throws(AddressError) {
        let expected = "ws://HOST[:PORT] or wss://HOST[:PORT]"
        let secure: Bool
        let rest: Substring
        if text.hasPrefix("ws://") {
            secure = false
            rest = text.dropFirst(5)
        } else if text.hasPrefix("wss://") {
            secure = true
            rest = text.dropFirst(6)
        } else {
            throw .malformed(text, expected: expected)
        }
        let authority = rest.prefix { $0 != "/" }
        var prefix = String(rest.dropFirst(authority.count))
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let parts = try AddressParts.split(String(authority))
        guard !parts.isEmpty, !parts[0].isEmpty, parts.count <= 2 else { throw .malformed(text, expected: expected) }
        let port = parts.count == 2 ? try AddressParts.port(parts[1], in: text) : (secure ? 443 : Self.defaultPort)
        self.init(secure: secure, host: parts[0], port: port, pathPrefix: prefix)
    }

    public var description: String {
        let host = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "wss" : "ws")://\(host):\(port)\(pathPrefix)"
    }
}
