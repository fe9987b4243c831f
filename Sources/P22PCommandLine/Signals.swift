import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM without letting them kill the process, so the
/// tools can close their connections and exit 0.
public final class ShutdownSignal: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    public init() {}

    /// Calls `handler` once, with the signal's name, on the first of them.
    public func onSignal(_ handler: @escaping @Sendable (String) -> Void) {
        let fired = FiredOnce()
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if fired.claim() { handler(name) }
            }
            source.resume()
            sources.append(source)
        }
    }
}

private final class FiredOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false

    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if fired { return false }
        fired = true
        return true
    }
}

/// Runs a handler on every delivery of a signal (SIGHUP for reloads).
public final class RepeatingSignal: @unchecked Sendable {
    private let source: DispatchSourceSignal

    public init(_ number: Int32, handler: @escaping @Sendable () -> Void) {
        signal(number, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
    }
}
