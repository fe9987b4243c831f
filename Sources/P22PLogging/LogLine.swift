import Foundation
import Logging

/// What every back-end needs from a log event: its parts, with the handler's
/// own metadata merged in, and fields named the way the journal names them.
struct LogLine {
    let level: Logger.Level
    let message: String
    let metadata: [(key: String, value: String)]

    init(event: LogEvent, handlerMetadata: Logger.Metadata) {
        var merged = handlerMetadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        self.level = event.level
        self.message = LogText.escapingControls("\(event.message)")
        self.metadata = merged.map { ($0.key, LogText.escapingControls("\($0.value)")) }.sorted { $0.key < $1.key }
    }

    /// syslog priority, as the journal's PRIORITY field wants it.
    var priority: Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
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

/// Writes whole lines to standard output, so concurrent log calls never
/// interleave inside a line.
enum StandardOutput {
    private static let lock = NSLock()

    static func write(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}

/// Log text made safe to show.
public enum LogText {
    /// Names, reasons and close texts come from the network: a control
    /// character (a newline, an escape sequence, a bidi override) must not
    /// forge a log line or rewrite the terminal that shows it. Each is
    /// written as \u{XX}.
    public static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                escaped.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}
