import Foundation
import Logging

/// One line per event on standard output: time, level, message, then
/// metadata as key=value, or the same as one JSON object per line.
public struct ConsoleLogHandler: LogHandler {
    public enum Format: Sendable { case text, json }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let format: Format

    public init(level: Logger.Level, format: Format = .text) {
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = LogLine(event: event, handlerMetadata: metadata)
        switch format {
        case .text:
            let fields = line.metadata.map { " \($0.key)=\($0.value)" }.joined()
            StandardOutput.write("\(LogLine.timestamp()) \(line.level) \(line.message)\(fields)\n")
        case .json:
            var object: [String: String] = ["time": LogLine.timestamp(), "level": "\(line.level)", "message": line.message]
            for (key, value) in line.metadata where object[key] == nil { object[key] = value }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            StandardOutput.write(String(decoding: data, as: UTF8.self) + "\n")
        }
    }
}

extension Logger.Level {
    /// Parses `--log-level` values.
    public init?(argument: String) {
        self.init(rawValue: argument.lowercased())
    }

    /// The error for a `--log-level` value that is none of them.
    public static func unknownArgumentMessage(_ argument: String) -> String {
        "unknown log level \(argument) (one of \(allCases.map(\.rawValue).joined(separator: ", ")))"
    }
}
