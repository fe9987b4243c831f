import Foundation
import P22PLogging

/// sd_notify(3) without libsystemd: datagrams to `$NOTIFY_SOCKET`, which may
/// be a path or an abstract socket (leading `@`). Does nothing outside systemd.
public final class SystemdNotifier: Sendable {
    private let socket: UnixDatagramSocket

    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], let socket = UnixDatagramSocket(path: path) else { return nil }
        self.socket = socket
    }

    /// Sends newline-separated `KEY=value` assignments, e.g. `READY=1`.
    public func notify(_ state: String) {
        socket.send(Data(state.utf8))
    }

    /// Half of `WATCHDOG_USEC`, the interval at which to send `WATCHDOG=1`.
    public static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], pid != String(getpid()) { return nil }
        return .microseconds(microseconds / 2)
    }
}
