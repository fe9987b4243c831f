import Logging
import NIOConcurrencyHelpers

/// Keeps every log line of a component so tests can check that a rejection
/// was logged with its reason.
struct RecordingLogHandler: LogHandler {
    final class Lines: @unchecked Sendable {  // `lines` is under `lock`
        private let lock = NIOLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
        func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
    }

    let lines: Lines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        lines.append("\(event.level) \(event.message) " + merged.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))
    }
}
