import Foundation
import P22PTransport

/// Where the shared state lives, from `--state postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE]`.
/// The password may instead come from the PGPASSWORD environment variable, so
/// it need not appear in a process list or a unit file.
public struct PostgresLocation: Equatable, Sendable, CustomStringConvertible {
    /// How the relay talks TLS to the database, named and meant as libpq's
    /// sslmode: prefer and require encrypt without checking the certificate;
    /// verify-full checks it against the system's CAs and the host name.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static let example = "postgres://p22p@db.example.net:5432/p22p"

    /// Whether `text` names a database rather than a directory.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Invalid) {
        guard Self.isURL(text), let url = URLComponents(string: text) else {
            throw Invalid(description: "--state takes a PostgreSQL URL such as \(Self.example); for a directory use --state-dir")
        }
        guard let host = url.host, !host.isEmpty else {
            throw Invalid(description: "the URL \(Self.redacted(text)) names no host; write it as \(Self.example)")
        }
        guard let user = url.user, !user.isEmpty else {
            throw Invalid(description: "the URL \(Self.redacted(text)) names no user; write it as \(Self.example)")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw Invalid(description: "the URL \(Self.redacted(text)) names no database; write it as \(Self.example)")
        }
        var tls = TLSMode.prefer
        for item in url.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw Invalid(description: "the URL \(Self.redacted(text)) has an unknown parameter \(item.name); only sslmode is understood")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw Invalid(description: "sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), not \(item.value ?? "nothing")")
            }
            tls = mode
        }
        self.host = host
        self.port = url.port ?? 5432
        self.user = user
        self.password = url.password ?? environment["PGPASSWORD"]
        self.database = database
        self.tls = tls
    }

    /// Names the database without its password: what logs and errors show.
    public var description: String {
        let address = readableAddress(host: host, port: port)
        return "PostgreSQL database \(database) at \(address) (user \(user))"
    }

    /// The URL with any password replaced, for messages about a bad URL.
    static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? text
    }
}
