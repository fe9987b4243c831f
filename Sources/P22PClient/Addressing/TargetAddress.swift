import P22PTransport

/// A host and port as users write them: `8000`, `127.0.0.1:8000`,
/// `db.local:5432`, `[::1]:22`.
public struct TargetAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { readableAddress(host: host, port: port) }

    /// The same address compared as users mean it: case-insensitive, with
    /// `localhost` as 127.0.0.1.
    public var normalized: TargetAddress {
        let lower = host.lowercased()
        return TargetAddress(host: lower == "localhost" ? "127.0.0.1" : lower, port: port)
    }

    /// Parses `PORT` (meaning 127.0.0.1:PORT) or `HOST:PORT`.
    public init(parsing text: String, defaultHost: String = "127.0.0.1") throws(AddressError) {
        var parts = try AddressParts.split(text)
        guard let last = parts.popLast() else { throw .malformed(text, expected: "PORT or HOST:PORT") }
        let port = try AddressParts.port(last, in: text)
        switch parts.count {
        case 0: self.init(host: defaultHost, port: port)
        case 1: self.init(host: try AddressParts.host(parts[0], in: text), port: port)
        default: throw .malformed(text, expected: "PORT or HOST:PORT")
        }
    }
}

public enum AddressError: Error, Equatable, CustomStringConvertible {
    case malformed(String, expected: String)
    case badPort(String, in: String, allowZero: Bool)

    public var description: String {
        switch self {
        case .malformed(let text, let expected): "\"\(text)\" is not of the form \(expected)"
        case .badPort(let port, let text, let allowZero): "\"\(port)\" in \"\(text)\" is not a port (\(allowZero ? 0 : 1)-65535)"
        }
    }
}

/// Splitting on `:` while keeping bracketed IPv6 addresses whole.
public enum AddressParts {
    public static func split(_ text: String) throws(AddressError) -> [String] {
        var parts: [String] = []
        var current = ""
        var inBrackets = false
        for character in text {
            switch character {
            case "[" where current.isEmpty && !inBrackets: inBrackets = true
            case "]" where inBrackets: inBrackets = false
            case ":" where !inBrackets:
                parts.append(current)
                current = ""
            default: current.append(character)
            }
        }
        guard !inBrackets else { throw .malformed(text, expected: "a closed [IPv6] address") }
        parts.append(current)
        return parts
    }

    /// Host names travel in one length byte, and DNS allows no more anyway.
    public static func host(_ text: String, in whole: String) throws(AddressError) -> String {
        guard !text.isEmpty, text.utf8.count <= 253 else { throw .malformed(whole, expected: "a host name of 1 to 253 bytes") }
        return text
    }

    public static func port(_ text: String, in whole: String, allowZero: Bool = false) throws(AddressError) -> Int {
        guard let port = Int(text), port >= (allowZero ? 0 : 1), port <= 65535 else { throw .badPort(text, in: whole, allowZero: allowZero) }
        return port
    }
}
