import Foundation
import Logging

/// Logs to the systemd journal with its native protocol: one datagram per
/// entry on the journal's Unix socket, `KEY=value` lines, with structured
/// fields so `journalctl P22P_GROUP=friends` finds a group's events.
public struct JournalLogHandler: LogHandler {
    public static let defaultSocketPath = "/run/systemd/journal/socket"

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let identifier: String
    private let socket: UnixDatagramSocket

    /// Metadata keys that become journal fields of their own.
    static let fields = ["group": "P22P_GROUP", "peer": "P22P_PEER", "forward": "P22P_FORWARD"]

    public init(level: Logger.Level, identifier: String, socket: UnixDatagramSocket) {
        self.logLevel = level
        self.identifier = identifier
        self.socket = socket
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = LogLine(event: event, handlerMetadata: metadata)
        let rest = line.metadata.filter { Self.fields[$0.key] == nil }.map { " \($0.key)=\($0.value)" }.joined()
        var entry = Data()
        Self.append("PRIORITY", "\(line.priority)", to: &entry)
        Self.append("SYSLOG_IDENTIFIER", identifier, to: &entry)
        Self.append("MESSAGE", line.message + rest, to: &entry)
        for (key, value) in line.metadata {
            if let field = Self.fields[key] { Self.append(field, value, to: &entry) }
        }
        socket.send(entry)
    }

    /// `KEY=value\n`, or for values with a newline the length-prefixed form
    /// (`KEY\n`, 64-bit little-endian length, value, `\n`).
    static func append(_ key: String, _ value: String, to entry: inout Data) {
        let bytes = Data(value.utf8)
        if bytes.contains(0x0A) {
            entry.append(Data(key.utf8))
            entry.append(0x0A)
            var length = UInt64(bytes.count).littleEndian
            withUnsafeBytes(of: &length) { entry.append(contentsOf: $0) }
            entry.append(bytes)
            entry.append(0x0A)
        } else {
            entry.append(Data("\(key)=".utf8))
            entry.append(bytes)
            entry.append(0x0A)
        }
    }
}
