import Foundation
import Logging
import NIOCore
import P22PClient
import P22PCommandLine
import P22PCrypto
import P22PLogging
import ServiceLifecycle

/// `p22p create|join`: join one group, open the forwards, and stay until a
/// signal (exit 0). A lost link is rejoined like the daemon does; with
/// `--no-reconnect` it ends the command instead (exit 1).
struct MemberSession {
    let group: String
    let policy: JoinPolicy
    let options: MemberOptions
    var reservation: Reservation?

    func run() async throws {
        let joiner = GroupJoiner(group: group, options: options.connection)
        let level = try joiner.logLevel()
        let allowList: AllowList
        do { allowList = try AllowList(parsing: options.allow) } catch { throw CommandError.usage("--allow \(error)") }
        var configuration = try joiner.configuration(policy: policy, allowList: allowList)
        configuration.member.reservation = reservation
        configuration.keepJoined = !options.noReconnect
        guard options.resumeTimeout >= 0, options.resumeTimeout <= 86_400 else {
            throw CommandError.usage("--resume-timeout must be between 0 and 86400 seconds, not \(options.resumeTimeout)")
        }
        configuration.resumeTimeout = .milliseconds(Int64(options.resumeTimeout * 1000))
        guard options.udpIdleTimeout > 0, options.udpIdleTimeout <= 86_400 else {
            throw CommandError.usage("--udp-idle-timeout must be more than 0 and at most 86400 seconds, not \(options.udpIdleTimeout)")
        }
        configuration.member.udpIdleTimeout = .milliseconds(Int64(options.udpIdleTimeout * 1000))
        configuration.forwards = try options.relay.map { text throws(CommandError) -> ForwardSpec in
            do {
                var spec = try ForwardSpec(parsing: text)
                spec.compress = options.compress && spec.ipProtocol == .tcp
                return spec
            } catch { throw .usage("--relay \(error)") }
        }
        ConsoleLogging.bootstrap(level: level)
        let logger = Logger(label: "p22p")
        let session = try await joiner.start(configuration, logger: logger)
        try await ServiceRunner.run([GroupSessionService(session: session, logger: logger)], logger: logger)
    }
}

/// A group session as a service: it ends when the session gives up (an
/// error: exit status 2 if the relay was never reached, else 1) or, on
/// SIGTERM or SIGINT, by leaving the group, also while it waits for its
/// first join.
struct GroupSessionService: Service {
    let session: GroupSession
    let logger: Logger

    func run() async throws {
        let error: MemberError? = try await withGracefulShutdownHandler { () async throws -> MemberError? in
            do {
                try await GroupJoiner.firstJoin(of: session)
            } catch {
                // Stopped by a signal before joining: a clean end, not a failure.
                if try await session.ended.get() == nil { return nil }
                throw error
            }
            return try await session.ended.get()
        } onGracefulShutdown: {
            logger.info("leaving group \(session.group)")
            _ = session.stop()
        }
        if let error { throw CommandError.failed(error.description) }
    }
}
