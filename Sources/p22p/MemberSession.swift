import Foundation
import Logging
import NIOCore
import P22PClient
import P22PCommandLine
import P22PLogging

/// `p22p create|join`: join one group, open the forwards, and stay until a
/// signal (exit 0) or the loss of the relay (exit 1).
struct MemberSession {
    let group: String
    let mode: MemberConfiguration.JoinMode
    let options: MemberOptions
    var reservation: [UInt8] = []

    func run() async throws {
        let joiner = GroupJoiner(group: group, options: options.connection)
        let level = try joiner.logLevel()
        let allowList: AllowList
        do { allowList = try AllowList(parsing: options.allow) } catch { throw CommandError.usage("--allow \(error)") }
        var configuration = try joiner.configuration(mode: mode, allowList: allowList)
        configuration.reservation = reservation
        let forwards = try options.relay.map { text throws(CommandError) -> ForwardSpec in
            do { return try ForwardSpec(parsing: text) } catch { throw .usage("--relay \(error)") }
        }
        ConsoleLogging.bootstrap(level: level)
        var logger = Logger(label: "p22p")
        logger[metadataKey: "group"] = "\(group)"
        let member = try await joiner.join(configuration, logger: logger)
        for spec in forwards {
            do {
                _ = try await member.addForward(spec).get()
            } catch {
                _ = try? await member.leave().get()
                throw CommandError.failed("\(error)")
            }
        }

        let stop = ShutdownSignal()
        let outcome: Outcome = await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            stop.onSignal { once.resume(.signal($0)) }
            member.closeFuture.whenSuccess { once.resume(.disconnected($0)) }
        }
        switch outcome {
        case .signal(let name):
            logger.info("leaving on \(name)")
            _ = try? await member.leave().get()
        case .disconnected(let reason):
            throw CommandError.failed("disconnected from the relay: \(reason)")
        }
    }

    enum Outcome: Sendable {
        case signal(String)
        case disconnected(String)
    }
}

/// Resumes a continuation from whichever of several callbacks fires first.
final class ResumeOnce<Value: Sendable>: @unchecked Sendable {
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
