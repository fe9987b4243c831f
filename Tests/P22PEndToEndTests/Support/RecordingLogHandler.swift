import Foundation
import Logging
import NIOConcurrencyHelpers

struct LogWaitTimeout: Error, CustomStringConvertible {
    let description: String
}

/// Keeps every log line of a component so tests can check that a rejection
/// was logged with its reason.
struct RecordingLogHandler: LogHandler {
    final class Lines: @unchecked Sendable {  // `lines` is under `lock`
        private let lock = NIOLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
        func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }

        /// Waits up to `timeout` for a line containing every one of `texts`.
        @discardableResult
        func wait(for texts: String..., timeout: TimeInterval = 10) async throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let line = all.first(where: { line in texts.allSatisfy { line.contains($0) } }) { return line }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            throw LogWaitTimeout(description: "no log line with \(texts) within \(timeout) s; saw:\n" + all.suffix(20).joined(separator: "\n"))
        }
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
