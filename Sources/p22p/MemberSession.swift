import Foundation
import Logging
import NIOCore
import P22PClient
import P22PCommandLine
import P22PLogging

/// `p22p create|join`: join one group, open the forwards, and stay until a
/// signal (exit 0). A lost link is rejoined like the daemon does; with
/// `--no-reconnect` it ends the command instead (exit 1).
struct MemberSession {
    let group: String
    let policy: JoinPolicy
    let options: MemberOptions
    var reservation: [UInt8] = []

    func run() async throws {
        let joiner = GroupJoiner(group: group, options: options.connection)
        let level = try joiner.logLevel()
        let allowList: AllowList
        do { allowList = try AllowList(parsing: options.allow) } catch { throw CommandError.usage("--allow \(error)") }
        var configuration = try joiner.configuration(policy: policy, allowList: allowList)
        configuration.member.reservation = reservation
        configuration.keepJoined = !options.noReconnect
        configuration.forwards = try options.relay.map { text throws(CommandError) -> ForwardSpec in
            do { return try ForwardSpec(parsing: text) } catch { throw .usage("--relay \(error)") }
        }
        ConsoleLogging.bootstrap(level: level)
        let session = try await joiner.start(configuration, logger: Logger(label: "p22p"))

        let stop = ShutdownSignal()
        let outcome: Outcome = await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            stop.onSignal { once.resume(.signal($0)) }
            session.ended.whenSuccess { error in once.resume(.ended(error)) }
        }
        switch outcome {
        case .signal(let name):
            Logger(label: "p22p").info("leaving on \(name)")
            _ = try? await session.stop().get()
        case .ended(let error):
            if let error { throw CommandError.failed(error.description) }
        }
    }

    enum Outcome: Sendable {
        case signal(String)
        case ended(MemberError?)
    }
}

/// Resumes a continuation from whichever of several callbacks fires first.
final class ResumeOnce<Value: Sendable>: @unchecked Sendable {  // the lock guards `continuation`
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Value, Never>?

    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = continuation }

    func resume(_ value: Value) {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume(returning: value)
    }
}
