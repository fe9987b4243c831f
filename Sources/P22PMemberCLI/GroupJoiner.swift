import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PClient
import P22PCommandLine
import P22PCrypto
import P22PLogging
import P22PWire

/// Turns command-line options into a group session: the one path every
/// subcommand uses to become a member, with errors mapped to exit codes
/// (1 refused or bad input, 2 relay unreachable).
struct GroupJoiner {
    let group: String
    let options: ConnectionOptions
    /// One-shot commands default to a name of their own, so they never
    /// collide with a long-running member of the same host.
    var defaultName: String = HostName.memberName

    func configuration(policy: JoinPolicy, allowList: AllowList = AllowList()) throws(CommandError) -> GroupSessionConfiguration {
        var servers: [ServerURL] = []
        for text in options.server {
            do { servers.append(try ServerURL(parsing: text)) } catch { throw .usage("--server \(error)") }
        }
        guard let server = servers.first else { throw .usage("--server needs a relay URL") }
        let name = options.name ?? defaultName
        do {
            try Names.validateGroup(group)
            try Names.validateMember(name)
        } catch {
            throw .usage("\(error)")
        }
        var configuration = GroupSessionConfiguration(server: server, group: group, name: name, policy: policy,
                                                      allowList: allowList, tls: try options.tlsOptions())
        configuration.member.identity = try options.loadIdentity()
        if let proxy = options.proxy {
            do { configuration.member.proxy = try ProxySetting(parsing: proxy) } catch { throw .usage("--proxy \(error), or none") }
        }
        configuration.fallbackServers = Array(servers.dropFirst())
        configuration.giveUpBeforeFirstJoin = true
        return configuration
    }

    /// A brief visit (`ping`, `peers`): join once, report any failure.
    func briefConfiguration() throws(CommandError) -> GroupSessionConfiguration {
        var configuration = try configuration(policy: .join)
        configuration.keepJoined = false
        return configuration
    }

    func logLevel() throws(CommandError) -> Logger.Level {
        guard let level = Logger.Level(argument: options.logLevel) else { throw .usage(Logger.Level.unknownArgumentMessage(options.logLevel)) }
        return level
    }

    /// Starts the session: its listeners are bound and it is connecting. The
    /// password is read only after every option checked out.
    func start(_ configuration: GroupSessionConfiguration, logger: Logger) async throws -> GroupSession {
        let password = try PasswordSource.resolve(file: options.passwordFile, group: group)
        let keyring = GroupKeyring(password: password, group: group)
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let session = GroupSession(configuration: configuration, keyring: keyring, eventLoop: loops.next(), logger: logger)
        do {
            try await session.start().get()
        } catch {
            throw CommandError.failed("\(error)")
        }
        return session
    }

    /// Starts the session and waits until the relay admitted it.
    func join(_ configuration: GroupSessionConfiguration, logger: Logger) async throws -> GroupSession {
        let session = try await start(configuration, logger: logger)
        try await Self.firstJoin(of: session)
        return session
    }

    /// Waits for the first join; a failure becomes the command's error (exit
    /// status 2 when the relay cannot be reached, else 1).
    static func firstJoin(of session: GroupSession) async throws {
        do {
            try await session.firstJoin.get()
        } catch let error as MemberError {
            _ = try? await session.stop().get()
            throw error.isConnectFailure ? CommandError.cannotConnect(error.description) : CommandError.failed(error.description)
        }
    }
}

extension ConnectionOptions {
    /// The one way the tools build TLS options from `--ca-file` and `--pin-sha256`.
    func tlsOptions() throws(CommandError) -> TLSOptions {
        try TLSOptions.fromCommandLine(caFile: caFile, pinSHA256: pinSha256)
    }

    /// `--identity FILE`, or the process's own fresh key.
    func loadIdentity() throws(CommandError) -> MemberIdentity {
        guard let identity else { return MemberConfiguration.processIdentity }
        return try MemberIdentity.fromCommandLine(identity)
    }
}

extension MemberIdentity {
    /// Loads (or creates) an identity file, saying on standard error what a
    /// person should know: a new key to pin, or a file others can read.
    static func fromCommandLine(_ path: String) throws(CommandError) -> MemberIdentity {
        let loaded: IdentityFile.Loaded
        do { loaded = try IdentityFile.load(path) } catch { throw .usage("--identity: \(error.description)") }
        if let notice = IdentityFile.notice(for: loaded, path: path) { FileHandle.standardError.write(Data("p22p: \(notice)\n".utf8)) }
        return loaded.identity
    }
}

extension TLSOptions {
    static func fromCommandLine(caFile: String?, pinSHA256: String?) throws(CommandError) -> TLSOptions {
        var pin: [UInt8]?
        if let pinSHA256 {
            guard let parsed = TLSOptions.parsePin(pinSHA256) else { throw .usage("--pin-sha256 must be 64 hex digits") }
            pin = parsed
        }
        return TLSOptions(caFile: caFile.map { LocalPath.resolve($0) }, pinSHA256: pin)
    }
}
