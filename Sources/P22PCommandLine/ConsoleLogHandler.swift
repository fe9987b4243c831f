import Foundation
import Logging

/// One line per event on standard output: time, level, message, then
/// metadata as key=value. Lines are written whole and flushed, so tests and
/// `journalctl` see them as they happen.
public struct ConsoleLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let line = "\(Self.timestamp()) \(event.level) \(event.message)\(fields)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000))
    }
}

extension Logger.Level {
    /// Parses `--log-level` values.
    public init?(argument: String) {
        self.init(rawValue: argument.lowercased())
    }
}

public enum ConsoleLogging {
    /// Routes every `Logger` in the process to the console at `level`.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in ConsoleLogHandler(label: label, level: level) }
    }
}
