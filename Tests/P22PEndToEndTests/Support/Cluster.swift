import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import P22PClient
import P22PCrypto
@testable import P22PRelay
import P22PTransport
import P22PWire
import XCTest

/// A real relay on a loopback port and real members connected to it over
/// WebSockets, all in this process so tests can watch the relay's counters and
/// members' events.
final class Cluster: @unchecked Sendable {  // all `let`; the session list is in a locked box
    let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let relay: RelayServer
    let group: String
    private let sessions = NIOLockedValueBox<[(member: Member, session: GroupSession)]>([])
    let events = EventLog()
    /// Everything the relay logged.
    let relayLog = RecordingLogHandler.Lines()
    /// What members logged at info and above (the lines a person reads),
    /// each with `member=NAME`.
    let memberLog = RecordingLogHandler.Lines()

    static let password = "correct horse battery staple"
    private static let keyrings = NIOLockedValueBox<[String: GroupKeyring]>([:])

    init(group: String = "demo", configure: (inout RelayConfiguration) -> Void = { _ in }) async throws {
        var configuration = RelayConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configure(&configuration)
        let lines = relayLog
        let logger = Logger(label: "relay") { _ in RecordingLogHandler(lines: lines) }
        relay = try await RelayServer.start(configuration: configuration, eventLoopGroup: loops, logger: logger)
        self.group = group
    }

    var url: ServerURL { ServerURL(secure: false, host: "127.0.0.1", port: relay.localAddress.port!, pathPrefix: "") }

    /// One keyring per group and password for the whole test run: scrypt at
    /// full cost is slow in debug builds, and a keyring derives each salt once
    /// (its creators always use the same salt).
    static func keyring(group: String, password: String = Cluster.password) -> GroupKeyring {
        keyrings.withLockedValue { table in
            let key = group + "\u{0}" + password
            if let known = table[key] { return known }
            let made = GroupKeyring(password: password, group: group)
            table[key] = made
            return made
        }
    }

    func member(
        _ name: String, mode: MemberConfiguration.JoinMode = .join, allow: [String] = [],
        password: String = Cluster.password, group: String? = nil, streamWindow: Int = 1 << 20,
        identity: MemberIdentity? = nil, server: ServerURL? = nil, tls: TLSOptions = TLSOptions(), reservation: Reservation? = nil,
        rekey: RekeyPolicy = .standard, reconnect: Bool = false, udpIdleTimeout: TimeAmount = .seconds(60)
    ) async throws -> Member {
        let groupName = group ?? self.group
        var configuration = GroupSessionConfiguration(
            server: server ?? url, group: groupName, name: name, policy: mode == .create ? .create : .join,
            allowList: try AllowList(parsing: allow), tls: tls)
        configuration.member.streamWindow = streamWindow
        // Each member stands for a different machine unless a test says otherwise.
        configuration.member.identity = identity ?? MemberIdentity()
        configuration.member.reservation = reservation
        configuration.member.rekey = rekey
        configuration.member.udpIdleTimeout = udpIdleTimeout
        // One link, and its failures reported: tests watch a member, not a
        // daemon. With `reconnect`, it rejoins quickly, as a daemon would.
        configuration.keepJoined = reconnect
        configuration.reconnect = ReconnectPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(200), stablePeriod: .seconds(60))
        configuration.giveUpBeforeFirstJoin = true
        configuration.waitForCreatorAtStart = false
        let lines = memberLog
        let verbose = ProcessInfo.processInfo.environment["P22P_TEST_LOG"] == "1"
        var logger = Logger(label: name) { label in
            let recording = RecordingLogHandler(lines: lines)
            return verbose ? MultiplexLogHandler([recording, StreamLogHandler.standardError(label: label)]) : recording
        }
        logger.logLevel = verbose ? .trace : .info
        logger[metadataKey: "member"] = "\(name)"
        let log = events
        let session = GroupSession(configuration: configuration, keyring: Cluster.keyring(group: groupName, password: password),
                                   eventLoop: loops.next(), logger: logger) { event in
            if case .member(let memberEvent) = event { log.append(name, memberEvent) }
        }
        try await session.start().get()
        try await session.firstJoin.get()
        let member = try await session.withMember { $0.eventLoop.makeSucceededFuture($0) }.get()
        sessions.withLockedValue { $0.append((member, session)) }
        return member
    }

    /// Forwards a local port of `member` through the engine, as every tool does.
    func addForward(on member: Member, _ spec: ForwardSpec) -> EventLoopFuture<Int> {
        guard let session = sessions.withLockedValue({ $0.first { $0.member === member }?.session }) else {
            return member.eventLoop.makeFailedFuture(SocketError("\(member.name) is not a member of this cluster"))
        }
        return session.addForward(spec)
    }

    /// Stops forwarding `spec` on `member`, as the command loop and a profile reload do.
    func removeForward(on member: Member, _ spec: ForwardSpec) async throws {
        try await groupSession(of: member).removeForward(spec).get()
    }

    /// Replaces `member`'s allow list, as `allow`/`deny` and a profile reload do.
    func setAllowList(on member: Member, _ entries: [String]) async throws {
        try await groupSession(of: member).setAllowList(try AllowList(parsing: entries)).get()
    }

    private func groupSession(of member: Member) throws -> GroupSession {
        guard let session = sessions.withLockedValue({ $0.first { $0.member === member }?.session }) else {
            throw SocketError("\(member.name) is not a member of this cluster")
        }
        return session
    }

    /// The forwards of `member`'s session, with the UDP counters.
    func forwardList(on member: Member) async throws -> [(spec: ForwardSpec, port: Int, udp: DatagramStats?)] {
        guard let session = sessions.withLockedValue({ $0.first { $0.member === member }?.session }) else {
            throw SocketError("\(member.name) is not a member of this cluster")
        }
        return try await session.forwardList().get()
    }

    /// A host that allows `allow` and a guest forwarding a fresh local port to it.
    func pair(allow: [String], target: Int, streamWindow: Int = 1 << 20) async throws -> (host: Member, guest: Member, port: Int) {
        let host = try await member("host", mode: .create, allow: allow, streamWindow: streamWindow)
        let guest = try await member("guest", streamWindow: streamWindow)
        let spec = ForwardSpec(peer: .name("host"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                               target: TargetAddress(host: "127.0.0.1", port: target))
        let port = try await addForward(on: guest, spec).get()
        return (host, guest, port)
    }

    /// A cluster whose guest forwards a fresh local port to `target` on the host.
    static func forwarding(to target: Int) async throws -> (Cluster, port: Int) {
        let cluster = try await Cluster()
        let port = try await cluster.pair(allow: ["\(target)"], target: target).port
        return (cluster, port)
    }

    func shutdown() async {
        for entry in sessions.withLockedValue({ $0 }) { _ = try? await entry.session.stop().get() }
        try? await relay.shutdown()
        try? await loops.shutdownGracefully()
    }
}

/// Every member event, in order, with the member's name.
final class EventLog: @unchecked Sendable {  // `entries` is under `lock`
    private let lock = NIOLock()
    private var entries: [(String, MemberEvent)] = []

    func append(_ member: String, _ event: MemberEvent) {
        lock.withLock { entries.append((member, event)) }
    }

    func events(of member: String) -> [MemberEvent] {
        lock.withLock { entries.filter { $0.0 == member }.map(\.1) }
    }

    /// Waits up to `timeout` for an event of `member` that `matches`.
    func wait(for member: String, timeout: TimeInterval = 10, _ matches: (MemberEvent) -> Bool) async throws -> MemberEvent {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = events(of: member).first(where: matches) { return found }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw SocketError("\(member) saw no matching event within \(timeout) s; saw \(events(of: member))")
    }
}

/// One request/response exchange through a forward, as a user would do it.
func roundTrip(port: Int, message: [UInt8]) throws -> [UInt8] {
    let connection = try TCPConnection.connect(port: port)
    defer { connection.close() }
    try connection.send(message)
    return try connection.receive(exactly: message.count)
}
