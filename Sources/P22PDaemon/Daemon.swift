import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PClient
import P22PCrypto
import P22PProfile
import P22PRelay
import P22PTransport

/// `p22p-up`: runs a profile. Starts the embedded relay if the profile has
/// one, keeps every group joined through a `GroupSession`, applies a changed
/// profile on `reload`, and reports to systemd when asked to.
public actor Daemon {
    private let profilePath: String
    private var profile: Profile
    private let logger: Logger
    private let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    private var relay: RelayServer?
    private var links: [String: (session: GroupSession, settings: GroupSettings)] = [:]
    private var everJoined: Set<String> = []
    /// Groups that must have joined once before systemd hears READY=1.
    private var expected: Set<String> = []
    private var readySent = false
    private let notifier = SystemdNotifier()
    private var watchdog: Task<Void, Never>?
    private var stopping = false
    private let defaultName: String
    /// Loaded once at start: every group this daemon joins proves this key.
    private var identity = MemberConfiguration.processIdentity
    /// Renders the process's metrics for `status.listen`; nil if it has none.
    private let renderMetrics: (@Sendable () -> [UInt8])?
    private var statusEndpoint: HTTPEndpoint?
    /// What the status endpoint reports, and its sampling of forwards.
    private var board: StatusBoard?
    private var sampler: RepeatedTask?
    /// The Unix socket this daemon made, removed when it stops.
    private var statusSocket: String?

    public init(profilePath: String, loaded: LoadedProfile, defaultName: String, logger: Logger,
                renderMetrics: (@Sendable () -> [UInt8])? = nil) {
        self.profilePath = profilePath
        self.profile = loaded.profile
        self.defaultName = defaultName
        self.logger = logger
        self.renderMetrics = renderMetrics
        for warning in loaded.warnings { logger.warning("\(warning)") }
    }

    /// Starts everything; fails with a one-line reason if a listener cannot
    /// be bound or a password cannot be read.
    public func start() async throws {
        if let settings = profile.relay {
            var configuration = RelayConfiguration()
            configuration.host = settings.listen.host
            configuration.port = settings.listen.port
            do {
                relay = try await RelayServer.start(configuration: configuration, eventLoopGroup: loops, logger: Logger(label: "p22p-up.relay"))
            } catch {
                throw DaemonError("cannot start the embedded relay on \(settings.listen): \(describeSocketError(error))")
            }
        }
        if let status = profile.status {
            try await serveStatus(status)
        }
        if let path = profile.identityFile {
            do {
                let loaded = try IdentityFile.load(path)
                identity = loaded.identity
                if let notice = IdentityFile.notice(for: loaded, path: path) {
                    loaded.exposed ? logger.warning("\(notice)") : logger.notice("\(notice)")
                }
            } catch {
                throw DaemonError(error.description)
            }
        }
        warnAboutExposedSecrets(profile.groups)
        expected = Set(profile.groups.map { GroupSettings(group: $0, profile: profile).key })
        for group in profile.groups {
            try await startLink(GroupSettings(group: group, profile: profile))
        }
        notify("STATUS=connecting to \(profile.groups.count) group(s)")
        if let interval = SystemdNotifier.watchdogInterval(), let notifier {
            watchdog = Task {
                while !Task.isCancelled {
                    notifier.notify("WATCHDOG=1")
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    /// One warning per secret file that others can read, naming every group
    /// that uses it: the quick start's two members share one password file.
    private func warnAboutExposedSecrets(_ groups: [GroupProfile]) {
        var passwordFiles: [(file: String, password: GroupPassword, groups: [String])] = []
        for group in groups {
            guard let file = group.password.resolvedFile else { continue }
            if let index = passwordFiles.firstIndex(where: { $0.file == file }) {
                if !passwordFiles[index].groups.contains(group.name) { passwordFiles[index].groups.append(group.name) }
            } else {
                passwordFiles.append((file, group.password, [group.name]))
            }
        }
        for (_, password, names) in passwordFiles {
            if let warning = password.exposureWarning(groups: names) { logger.warning("\(warning)") }
        }
        var keyFiles = Set<String>()
        for group in groups {
            guard let key = group.reservation, keyFiles.insert(LocalPath.resolve(key)).inserted else { continue }
            if let warning = ReservationFile.exposureWarning(key) { logger.warning("\(warning)") }
        }
    }

    private func startLink(_ settings: GroupSettings) async throws {
        let password: String
        do { password = try settings.group.password.read(group: settings.group.name) } catch { throw DaemonError(error.description) }
        let keyring = GroupKeyring(password: password, group: settings.group.name)
        let key = settings.key
        var configuration = settings.session
        configuration.member.identity = identity
        let session = GroupSession(configuration: configuration, keyring: keyring, eventLoop: loops.next(), logger: logger) { [weak self] event in
            if case .joined = event { Task { await self?.joined(key) } }
        }
        links[key] = (session, settings)
        do {
            try await session.start().get()
        } catch {
            if links[key]?.session === session { links.removeValue(forKey: key) }
            throw DaemonError("\(error)")
        }
        publishSessions()
    }

    /// The status endpoint: the page, /status.json, /metrics and /healthz.
    private func serveStatus(_ status: StatusSettings) async throws {
        let board = StatusBoard(profilePath: profilePath)
        let relay = self.relay
        let renderMetrics = self.renderMetrics
        let document: @Sendable (EventLoop) -> EventLoopFuture<String> = { loop in
            board.document(on: loop).flatMapThrowing { String(decoding: try StatusDocument.encoder.encode($0), as: UTF8.self) }
        }
        let routes: [String: HTTPEndpoint.Route] = [
            "/": { loop in document(loop).map { HTTPEndpoint.Response(contentType: "text/html; charset=utf-8", body: Array(StatusPage.html(initial: $0).utf8)) } },
            "/status.json": { loop in document(loop).map { HTTPEndpoint.Response(contentType: "application/json", body: Array($0.utf8)) } },
            "/metrics": { loop in
                board.document(on: loop).map { status in
                    relay?.refreshGauges()
                    let process = renderMetrics?() ?? []
                    return HTTPEndpoint.Response(contentType: "text/plain; version=0.0.4", body: process + Array(StatusBoard.prometheus(status).utf8))
                }
            },
            "/healthz": { loop in loop.makeSucceededFuture(.text("ok\n")) },
        ]
        do {
            switch status.listen {
            case .tcp(let address):
                statusEndpoint = try await HTTPEndpoint.start(host: address.host, port: address.port, on: loops, localOnly: true, routes: routes)
            case .unix(let path):
                try StatusSocket.clear(path)
                // Made with mode 0600 from the start: only this user may ask,
                // the page names peers, targets and traffic.
                let mask = umask(0o177)
                defer { umask(mask) }
                statusEndpoint = try await HTTPEndpoint.start(unixSocket: path, on: loops, routes: routes)
                statusSocket = path
            }
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError("cannot serve status on \(status.listen): \(describeSocketError(error))")
        }
        self.board = board
        sampler = board.startSampling(on: loops.next())
        logger.info("status at \(status.listen.url)")
    }

    /// Tells the status board the sessions, in the profile's order.
    private func publishSessions() {
        guard let board else { return }
        let order = profile.groups.map { GroupSettings(group: $0, profile: profile).key }
        let listed = order.compactMap { links[$0]?.session }
        let others = links.filter { !order.contains($0.key) }.map(\.value.session)
        board.show(listed + others)
    }

    private func joined(_ key: String) {
        everJoined.insert(key)
        let joinedNow = links.values.filter(\.session.isJoined).count
        notify("STATUS=joined \(joinedNow) of \(links.count) group(s)")
        if !readySent, expected.isSubset(of: everJoined) {
            readySent = true
            logger.info("every group is joined")
            notify("READY=1")
        }
    }

    /// Re-reads the profile. Unchanged forwards keep their connections;
    /// changed groups reconnect; an invalid profile is rejected and the
    /// running one stays.
    /// `DaemonService` runs one reload at a time, one per SIGHUP.
    public func reload() async {
        guard !stopping else { return }
        notify("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
        defer { notify("READY=1") }
        let loaded: LoadedProfile
        do {
            loaded = try ProfileParser.load(path: profilePath, defaultName: defaultName)
        } catch {
            logger.error("reload rejected, keeping the running profile: \(error)")
            return
        }
        for warning in loaded.warnings { logger.warning("\(warning)") }
        let new = loaded.profile
        if new.identityFile != profile.identityFile {
            logger.warning("identity_file changed; it takes effect when p22p-up restarts")
        }
        if new.log != profile.log || new.relay != profile.relay || new.status != profile.status {
            logger.warning("log, relay and status settings take effect at the next start")
        }
        let wanted = Dictionary(new.groups.map { (GroupSettings(group: $0, profile: new).key, GroupSettings(group: $0, profile: new)) },
                                uniquingKeysWith: { first, _ in first })
        // Removals first (whole groups, then forwards), binds after, so a
        // port can move from one group to another in one reload.
        var updating: [(GroupSession, old: GroupSettings, new: GroupSettings)] = []
        var starting: [GroupSettings] = []
        for (key, link) in links where wanted[key] == nil {
            logger.info("group \(link.settings.group.name) is no longer in the profile; leaving it")
            links.removeValue(forKey: key)
            everJoined.remove(key)
            _ = try? await link.session.stop().get()
            guard !stopping else { return }
        }
        for (key, settings) in wanted {
            guard let link = links[key] else {
                starting.append(settings)
                continue
            }
            if link.settings == settings { continue }
            if link.settings.differsOnlyInForwardsOrAllowList(from: settings) {
                let change = ForwardChange(from: link.settings.group.forwards, to: settings.group.forwards)
                for spec in change.removed { _ = try? await link.session.removeForward(spec).get() }
                _ = try? await link.session.setAllowList(settings.group.allow).get()
                updating.append((link.session, link.settings, settings))
            } else {
                logger.info("group \(settings.group.name) changed; reconnecting it")
                links.removeValue(forKey: key)
                everJoined.remove(key)
                _ = try? await link.session.stop().get()
                starting.append(settings)
            }
            guard !stopping else { return }
        }
        for (session, old, new) in updating {
            var applied = new
            applied.group.forwards = old.group.forwards.filter { new.group.forwards.contains($0) }
            for spec in ForwardChange(from: old.group.forwards, to: new.group.forwards).added {
                do {
                    _ = try await session.addForward(spec).get()
                    applied.group.forwards.append(spec)
                } catch {
                    // Left out of the settings, so the next reload tries it again.
                    logger.error("forward of group \(new.group.name) not started: \(error)")
                }
            }
            links[new.key] = (session, applied)
            guard !stopping else { return }
        }
        for settings in starting {
            do {
                try await startLink(settings)
            } catch {
                logger.error("cannot start group \(settings.group.name): \(error)")
            }
            guard !stopping else { return }
        }
        profile = new
        publishSessions()
        logger.info("profile reloaded")
    }

    /// Leaves every group, stops the embedded relay, and returns.
    public func stop() async {
        stopping = true
        notify("STOPPING=1")
        watchdog?.cancel()
        for link in links.values { _ = try? await link.session.stop().get() }
        links.removeAll()
        sampler?.cancel()
        board?.show([])
        await statusEndpoint?.close()
        if let statusSocket { unlink(statusSocket) }
        try? await relay?.shutdown()
        try? await loops.shutdownGracefully()
    }

    private func notify(_ state: String) {
        notifier?.notify(state)
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}

/// A failure to report as one line.
public struct DaemonError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
