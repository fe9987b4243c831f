import Foundation
import Logging
import NIOCore
import P22PClient
import P22PCrypto
import P22PProfile

/// Keeps one group joined and its forwards working, for as long as the daemon
/// runs: reconnects with backoff when the link drops, keeps the listeners
/// bound meanwhile, and lets connections accepted during an outage (or while
/// the peer is away) wait a bounded time instead of failing at once.
final class GroupLink: @unchecked Sendable {
    let eventLoop: EventLoop
    private(set) var settings: GroupSettings
    private let secrets: GroupSecrets
    private var logger: Logger
    /// Called on `eventLoop` after every successful join.
    var onJoined: (() -> Void)?

    private var member: Member?
    private var listeners: [ForwardSpec: ForwardListener] = [:]
    private var waiting: [Waiting] = []
    private var backoff: Backoff
    private var mode: MemberConfiguration.JoinMode
    private var stableTimer: Scheduled<Void>?
    private var retry: Scheduled<Void>?
    private var stopped = false
    private var reportedAbsent: Set<PeerReference> = []

    /// How long an accepted connection waits for the link or the peer.
    static let waitLimit: TimeAmount = .seconds(10)

    private struct Waiting {
        let local: Channel
        let spec: ForwardSpec
        let deadline: Scheduled<Void>
    }

    init(settings: GroupSettings, secrets: GroupSecrets, eventLoop: EventLoop, logger: Logger) {
        self.settings = settings
        self.secrets = secrets
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "group"] = "\(settings.group.name)"
        self.logger = logger
        self.backoff = Backoff(policy: settings.reconnect)
        self.mode = settings.group.create == .always ? .create : .join
    }

    var isJoined: Bool { member != nil }

    /// Binds every forward's listener, then starts connecting. Fails if a
    /// listener cannot be bound (the port is taken): a user error to report.
    func start() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.bind(self.settings.group.forwards).map { self.connect() }
        }
    }

    // MARK: Connecting

    private func connect() {
        guard !stopped else { return }
        var configuration = MemberConfiguration(
            server: settings.server, group: settings.group.name, name: settings.name, mode: mode,
            allowList: settings.group.allow, tls: TLSOptions(caFile: settings.tls.caFile, pinSHA256: settings.tls.pinSHA256))
        if let path = settings.group.reservation {
            do {
                configuration.reservation = try ReservationFile.load(path).encoded()
            } catch {
                logger.error("group \(settings.group.name): \(error); connecting without the reservation key")
            }
        }
        logger.debug("connecting to \(settings.server) (\(mode == .create ? "create" : "join"))")
        Member.connect(configuration, secrets: secrets, eventLoop: eventLoop, logger: logger, onEvent: { [weak self] event in
            guard let self else { return }
            self.eventLoop.execute { self.handle(event) }
        }).whenComplete { result in
            switch result {
            case .success(let member): self.linked(member)
            case .failure(let error): self.failed(error)
            }
        }
    }

    private func linked(_ member: Member) {
        guard !stopped else {
            _ = member.leave()
            return
        }
        self.member = member
        if settings.group.create == .auto { mode = .join }
        stableTimer = eventLoop.scheduleTask(in: TimeAmount(settings.reconnect.stablePeriod)) {
            self.backoff.reset()
        }
        member.closeFuture.whenSuccess { reason in
            self.eventLoop.execute { self.lost(member, reason: reason) }
        }
        reportAbsentPeers()
        retryWaiting()
        onJoined?()
    }

    private func lost(_ lostMember: Member, reason: String) {
        guard member === lostMember else { return }
        member = nil
        stableTimer?.cancel()
        guard !stopped else { return }
        if lostMember.relayWentAway { backoff.reset() }
        scheduleReconnect(after: "link to the relay lost: \(reason)")
    }

    private func failed(_ error: Error) {
        guard !stopped else { return }
        switch (error as? MemberError, settings.group.create, mode) {
        case (.refused(.noSuchGroup, _)?, .auto, .join):
            logger.info("group \(settings.group.name) does not exist yet; creating it")
            mode = .create
            connect()
        case (.refused(.groupExists, _)?, .auto, .create), (.refused(.groupExists, _)?, .always, .create):
            logger.info("group \(settings.group.name) exists; joining it")
            mode = .join
            connect()
        default:
            scheduleReconnect(after: "\(error)")
        }
    }

    private func scheduleReconnect(after reason: String) {
        let delay = backoff.nextDelay()
        logger.warning("\(reason); reconnecting in \(delay.readable) (attempt \(backoff.attempt))")
        if settings.group.create == .always { mode = .create }
        retry = eventLoop.scheduleTask(in: TimeAmount(delay)) { self.connect() }
    }

    private func handle(_ event: MemberEvent) {
        if case .peerJoined(let peer) = event {
            let arrived = reportedAbsent.filter { $0 == .name(peer.name) || $0 == .cid(peer.cid) }
            for reference in arrived {
                reportedAbsent.remove(reference)
                logger.info("peer \(peer.name) is here; its forwards work now", metadata: ["peer": "\(peer.name)"])
            }
            retryWaiting()
        }
    }

    // MARK: Forwards

    private func bind(_ specs: [ForwardSpec]) -> EventLoopFuture<Void> {
        let started = specs.map { spec in
            ForwardListener.start(spec, on: eventLoop) { [weak self] local in self?.accept(local, for: spec) }
                .map { listener in
                    self.listeners[spec] = listener
                    self.logger.info("forwarding \(spec.listen.host):\(listener.port) to \(spec.peer) \(spec.target)",
                                     metadata: ["forward": "\(spec)"])
                }
        }
        return EventLoopFuture.whenAllSucceed(started, on: eventLoop).map { _ in }
    }

    private func accept(_ local: Channel, for spec: ForwardSpec) {
        if let member, member.openStream(from: local, for: spec) { return }
        let why = member == nil ? "the link to the relay" : "peer \(spec.peer)"
        logger.info("connection to \(spec.listen.host):\(spec.listen.port) waits for \(why)", metadata: ["forward": "\(spec)"])
        let deadline = eventLoop.scheduleTask(in: Self.waitLimit) {
            self.waiting.removeAll { $0.local === local }
            self.logger.warning("closing connection to \(spec.listen.host):\(spec.listen.port): \(why) did not come within 10 s",
                                metadata: ["forward": "\(spec)"])
            local.close(promise: nil)
        }
        waiting.append(Waiting(local: local, spec: spec, deadline: deadline))
        local.closeFuture.whenComplete { _ in
            self.eventLoop.execute {
                if let index = self.waiting.firstIndex(where: { $0.local === local }) {
                    self.waiting.remove(at: index).deadline.cancel()
                }
            }
        }
    }

    private func retryWaiting() {
        guard let member else { return }
        waiting.removeAll { entry in
            guard member.openStream(from: entry.local, for: entry.spec) else { return false }
            entry.deadline.cancel()
            return true
        }
    }

    private func reportAbsentPeers() {
        guard let member else { return }
        for spec in settings.group.forwards where !member.isPresent(spec.peer) && !reportedAbsent.contains(spec.peer) {
            reportedAbsent.insert(spec.peer)
            logger.info("waiting for peer \(spec.peer)", metadata: ["peer": "\(spec.peer)", "forward": "\(spec)"])
        }
    }

    // MARK: Reload and stop

    /// First half of a reload without reconnecting: closes the listeners of
    /// forwards `new` no longer has (before any group binds, so a port can
    /// move between groups) and applies the allow list.
    func removeForwards(notIn new: GroupSettings) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let wanted = Set(new.group.forwards)
            let closing = self.settings.group.forwards.filter { !wanted.contains($0) }.compactMap { spec -> EventLoopFuture<Void>? in
                self.logger.info("removing forward \(spec)", metadata: ["forward": "\(spec)"])
                return self.listeners.removeValue(forKey: spec)?.close()
            }
            self.settings.group.forwards.removeAll { !wanted.contains($0) }
            self.settings.group.allow = new.group.allow
            self.member?.setAllowList(new.group.allow)
            return EventLoopFuture.andAllComplete(closing, on: self.eventLoop)
        }
    }

    /// Second half: binds the new forwards. Listeners of unchanged forwards
    /// (and their open connections) stay as they are. Returns one line per
    /// forward that could not be bound; those stay out of the settings, so
    /// the next reload tries them again.
    func addForwards(from new: GroupSettings) -> EventLoopFuture<[String]> {
        eventLoop.flatSubmit {
            let have = Set(self.settings.group.forwards)
            let adding = new.group.forwards.filter { !have.contains($0) }
            let attempts = adding.map { spec in
                self.bind([spec]).map { () -> String? in
                    self.settings.group.forwards.append(spec)
                    return nil
                }.recover { error in "\(error)" }
            }
            return EventLoopFuture.whenAllSucceed(attempts, on: self.eventLoop).map { failures in
                self.reportAbsentPeers()
                return failures.compactMap { $0 }
            }
        }
    }

    func stop() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.stopped = true
            self.retry?.cancel()
            self.stableTimer?.cancel()
            for entry in self.waiting {
                entry.deadline.cancel()
                entry.local.close(promise: nil)
            }
            self.waiting.removeAll()
            let closing = self.listeners.values.map { $0.close() }
            self.listeners.removeAll()
            let leaving = self.member?.leave().recover { _ in } ?? self.eventLoop.makeSucceededVoidFuture()
            self.member = nil
            return EventLoopFuture.andAllComplete(closing + [leaving], on: self.eventLoop)
        }
    }
}
