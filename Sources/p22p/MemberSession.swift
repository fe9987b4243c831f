import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PClient
import P22PCommandLine
import P22PLogging
import P22PCrypto
import P22PWire

/// `p22p create|join`: join one group, open the forwards, and stay until a
/// signal (exit 0) or the loss of the relay (exit 1).
struct MemberSession {
    let group: String
    let mode: MemberConfiguration.JoinMode
    let options: MemberOptions

    func run() async throws {
        guard let level = Logger.Level(argument: options.logLevel) else {
            throw CommandError.usage("unknown log level \(options.logLevel)")
        }
        let configuration = try makeConfiguration()
        let forwards = try options.relay.map { text throws(CommandError) -> ForwardSpec in
            do { return try ForwardSpec(parsing: text) } catch { throw .usage("--relay \(error)") }
        }
        let password = try PasswordSource.resolve(file: options.passwordFile, group: group)
        ConsoleLogging.bootstrap(level: level)
        var logger = Logger(label: "p22p")
        logger[metadataKey: "group"] = "\(group)"

        let secrets = try GroupSecrets(password: password, group: group)
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let member: Member
        do {
            member = try await Member.connect(configuration, secrets: secrets, eventLoop: loops.next(), logger: logger).get()
        } catch let error as MemberError {
            throw error.isConnectFailure ? CommandError.cannotConnect(error.description) : CommandError.failed(error.description)
        }
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

    private func makeConfiguration() throws(CommandError) -> MemberConfiguration {
        let server: ServerURL
        let allowList: AllowList
        do {
            server = try ServerURL(parsing: options.server)
        } catch {
            throw .usage("--server \(error)")
        }
        do {
            allowList = try AllowList(parsing: options.allow)
        } catch {
            throw .usage("--allow \(error)")
        }
        var pin: [UInt8]?
        if let text = options.pinSha256 {
            guard let parsed = TLSOptions.parsePin(text) else { throw .usage("--pin-sha256 must be 64 hex digits") }
            pin = parsed
        }
        let name = options.name ?? HostName.memberName
        do {
            try Names.validateGroup(group)
            try Names.validateMember(name)
        } catch {
            throw .usage("\(error)")
        }
        return MemberConfiguration(
            server: server, group: group, name: name, mode: mode, allowList: allowList,
            tls: TLSOptions(caFile: options.caFile, pinSHA256: pin))
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
