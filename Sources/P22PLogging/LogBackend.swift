import Foundation
import Logging

/// Where the tools' logs go, chosen once at start-up.
public enum LogBackend: Sendable, Equatable {
    case stdout(ConsoleLogHandler.Format)
    /// The journal's native socket; `P22P_JOURNAL_SOCKET` overrides the path.
    case journal(identifier: String)

    /// Routes every `Logger` in the process to this back-end at `level`.
    /// When the journal is asked for but absent, says so once and uses stdout.
    public func bootstrap(level: Logger.Level) {
        switch self {
        case .stdout(let format):
            LoggingSystem.bootstrap { _ in ConsoleLogHandler(level: level, format: format) }
        case .journal(let identifier):
            let path = ProcessInfo.processInfo.environment["P22P_JOURNAL_SOCKET"] ?? JournalLogHandler.defaultSocketPath
            guard let socket = UnixDatagramSocket(path: path) else {
                LoggingSystem.bootstrap { _ in ConsoleLogHandler(level: level) }
                Logger(label: identifier).warning("no systemd journal at \(path); logging to standard output instead")
                return
            }
            LoggingSystem.bootstrap { _ in JournalLogHandler(level: level, identifier: identifier, socket: socket) }
        }
    }
}

public enum ConsoleLogging {
    /// Routes every `Logger` in the process to the console at `level`.
    public static func bootstrap(level: Logger.Level) {
        LogBackend.stdout(.text).bootstrap(level: level)
    }
}
