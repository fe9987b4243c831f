import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PClient
import P22PCommandLine
import P22PCrypto
import P22PLogging
import P22PWire

/// Joins one group from command-line options: the one path every
/// subcommand uses to become a member, with errors mapped to exit codes
/// (1 refused or bad input, 2 relay unreachable).
struct GroupJoiner {
    let group: String
    let options: ConnectionOptions
    /// One-shot commands default to a name of their own, so they never
    /// collide with a long-running member of the same host.
    var defaultName: String = HostName.memberName

    func configuration(mode: MemberConfiguration.JoinMode, allowList: AllowList = AllowList()) throws(CommandError) -> MemberConfiguration {
        let server: ServerURL
        do { server = try ServerURL(parsing: options.server) } catch { throw .usage("--server \(error)") }
        var pin: [UInt8]?
        if let text = options.pinSha256 {
            guard let parsed = TLSOptions.parsePin(text) else { throw .usage("--pin-sha256 must be 64 hex digits") }
            pin = parsed
        }
        let name = options.name ?? defaultName
        do {
            try Names.validateGroup(group)
            try Names.validateMember(name)
        } catch {
            throw .usage("\(error)")
        }
        return MemberConfiguration(server: server, group: group, name: name, mode: mode, allowList: allowList,
                                   tls: TLSOptions(caFile: options.caFile, pinSHA256: pin))
    }

    func logLevel() throws(CommandError) -> Logger.Level {
        guard let level = Logger.Level(argument: options.logLevel) else { throw .usage(Logger.Level.unknownArgumentMessage(options.logLevel)) }
        return level
    }

    /// Connects and joins; the password is read only after every option checked out.
    func join(_ configuration: MemberConfiguration, logger: Logger) async throws -> Member {
        let password = try PasswordSource.resolve(file: options.passwordFile, group: group)
        let secrets = try GroupSecrets(password: password, group: group)
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            return try await Member.connect(configuration, secrets: secrets, eventLoop: loops.next(), logger: logger).get()
        } catch let error as MemberError {
            throw error.isConnectFailure ? CommandError.cannotConnect(error.description) : CommandError.failed(error.description)
        }
    }
}
