import Foundation
import P22PTransport

/// A proxy to reach the relay through: `http://[user:pass@]HOST[:PORT]` (HTTP
/// CONNECT) or `socks5://[user:pass@]HOST[:PORT]`. The port defaults to 1080,
/// as curl's does.
public struct ProxyURL: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case http
        case socks5
    }

    public var kind: Kind
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?

    public static let defaultPort = 1080
    static let syntax = "http://[USER:PASSWORD@]HOST[:PORT] or socks5://[USER:PASSWORD@]HOST[:PORT]"

    public init(kind: Kind, host: String, port: Int, username: String? = nil, password: String? = nil) {
        self.kind = kind
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    /// A value without a scheme is an HTTP proxy, as curl takes it.
    public init(parsing text: String) throws(AddressError) {
        var rest = Substring(text)
        var kind = Kind.http
        if let range = rest.range(of: "://") {
            switch rest[..<range.lowerBound].lowercased() {
            case "http": kind = .http
            case "socks5", "socks5h": kind = .socks5
            default: throw .malformed(text, expected: Self.syntax)
            }
            rest = rest[range.upperBound...]
        }
        while rest.hasSuffix("/") { rest.removeLast() }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let pair = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            username = String(pair[0]).removingPercentEncoding ?? String(pair[0])
            if pair.count == 2 { password = String(pair[1]).removingPercentEncoding ?? String(pair[1]) }
        }
        let parts = try AddressParts.split(String(rest))
        guard !parts.isEmpty, !parts[0].isEmpty, parts.count <= 2, !parts[0].contains("/") else {
            throw .malformed(text, expected: Self.syntax)
        }
        let port = parts.count == 2 ? try AddressParts.port(parts[1], in: text) : Self.defaultPort
        self.init(kind: kind, host: parts[0], port: port, username: username, password: password)
    }

    /// `host:port`, for messages.
    public var address: String { readableAddress(host: host, port: port) }

    /// Never shows the password.
    public var description: String {
        "\(kind.rawValue)://\(username.map { "\($0)@" } ?? "")\(address)"
    }
}

/// Which proxy, if any, a member uses to reach its relay.
public enum ProxySetting: Hashable, Sendable {
    /// As curl does: `https_proxy`/`HTTPS_PROXY` for wss:// and tls://, `http_proxy` for
    /// ws:// and tcp://, else `all_proxy`/`ALL_PROXY`; `no_proxy`/`NO_PROXY` exempts hosts.
    case fromEnvironment
    case direct
    case via(ProxyURL)

    /// Parses a `proxy:` value or `--proxy` argument: a proxy URL, or `none`
    /// to connect directly whatever the environment says.
    public init(parsing text: String) throws(AddressError) {
        if text == "none" || text == "direct" {
            self = .direct
        } else {
            self = .via(try ProxyURL(parsing: text))
        }
    }

    /// The proxy for `server`, or nil to connect directly.
    func proxy(for server: ServerURL, environment: [String: String]) throws(ProxyEnvironmentError) -> ProxyURL? {
        switch self {
        case .direct: return nil
        case .via(let proxy): return proxy
        case .fromEnvironment: return try Self.fromEnvironment(for: server, environment: environment)
        }
    }

    static func fromEnvironment(for server: ServerURL, environment: [String: String]) throws(ProxyEnvironmentError) -> ProxyURL? {
        // Like curl: the upper-case http_proxy is ignored (CGI programs get a
        // client's Proxy header as HTTP_PROXY).
        let names = server.secure ? ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] : ["http_proxy", "all_proxy", "ALL_PROXY"]
        guard let name = names.first(where: { !(environment[$0] ?? "").isEmpty }), let value = environment[name] else { return nil }
        let exemptions = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        if Self.exempts(exemptions, host: server.host) { return nil }
        do {
            return try ProxyURL(parsing: value)
        } catch {
            throw ProxyEnvironmentError(variable: name, reason: error.description)
        }
    }

    /// curl's `no_proxy`: `*`, or comma-separated host names (matching the
    /// host or any name under it; a leading dot is allowed) and IP addresses.
    static func exempts(_ list: String, host: String) -> Bool {
        let host = host.lowercased()
        for raw in list.split(separator: ",") {
            var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry == "*" { return true }
            if entry.hasPrefix(".") { entry.removeFirst() }
            if entry.hasPrefix("["), entry.hasSuffix("]") { entry = String(entry.dropFirst().dropLast()) }
            guard !entry.isEmpty else { continue }
            if host == entry || host.hasSuffix("." + entry) { return true }
        }
        return false
    }
}

/// A proxy variable in the environment that is not a proxy URL.
public struct ProxyEnvironmentError: Error, Equatable, CustomStringConvertible {
    public var variable: String
    public var reason: String

    public var description: String { "the environment variable \(variable) is not a proxy: \(reason); fix it or pass --proxy none" }
}
