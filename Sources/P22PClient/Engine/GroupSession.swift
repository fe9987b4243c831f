import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PCrypto
import P22PTransport
import Synchronization

/// One group, kept joined: the link to the relay under a reconnect policy
/// (`LinkStateMachine`), the forwards' listeners, and the connections that
/// wait for the link or a peer (`WaitingConnections`). `p22p create/join`,
/// `p22p-up` and the command loop all run their groups through this.
///
/// Everything lives on `eventLoop`; public methods hop onto it.
public final class GroupSession: @unchecked Sendable {  // state confined to `eventLoop`; public methods hop onto it
    public enum Event: Sendable {
        /// In the group; `again` after a reconnect.
        case joined(Peer, created: Bool, again: Bool)
        case linkLost(reason: String)
        case member(MemberEvent)
    }

    public let eventLoop: EventLoop
    public let group: String
    private var configuration: GroupSessionConfiguration
    private let keyring: GroupKeyring
    private var logger: Logger
    private let onEvent: (@Sendable (Event) -> Void)?

    private var link: LinkStateMachine
    /// The member of the current link, once the relay welcomed it.
    private var member: Member?
    private var listeners: [ForwardSpec: ForwardListener] = [:]
    private var datagramListeners: [ForwardSpec: DatagramListener] = [:]
    private var waiting: WaitingConnections
    private var waitingChannels: [Int: (channel: Channel, deadline: Scheduled<Void>)] = [:]
    private var retry: Scheduled<Void>?
    private var reportedAbsent: Set<PeerReference> = []
    private let firstJoinPromise: EventLoopPromise<Void>
    private let endedPromise: EventLoopPromise<MemberError?>
    /// Welcomes so far; the first one fulfils `firstJoin`.
    private var joins = 0
    private var ending = false
    /// `link.isJoined`, readable from any thread.
    private let joinedNow = Atomic<Bool>(false)
    /// Which of `configuration.servers` the next dial goes to.
    private var serverIndex = 0
    private var failbackCheck: Scheduled<Void>?
    /// The end-to-end sessions and their streams, kept across links.
    private let directory: PeerDirectory
    /// What each TCP forward carried, kept while the forward exists.
    var countersBySpec: [ForwardSpec: ForwardCounters] = [:]
    /// The link as the status page tells it: since when, and why it last broke.
    var linkState: GroupSessionStatus.Link = .connecting
    var linkSince = Date()
    var lastError: String?

    public init(configuration: GroupSessionConfiguration, keyring: GroupKeyring, eventLoop: EventLoop, logger: Logger,
                onEvent: (@Sendable (Event) -> Void)? = nil) {
        self.configuration = configuration
        self.group = configuration.member.group
        self.keyring = keyring
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "group"] = "\(configuration.member.group)"
        self.logger = logger
        self.onEvent = onEvent
        self.link = LinkStateMachine(options: configuration.linkOptions)
        self.directory = PeerDirectory(resumeTimeout: configuration.resumeTimeout)
        self.waiting = WaitingConnections(limit: configuration.waitLimit)
        self.firstJoinPromise = eventLoop.makePromise()
        self.endedPromise = eventLoop.makePromise()
        // Nobody may be left holding an unfulfilled promise.
        firstJoinPromise.futureResult.whenFailure { _ in }
    }

    /// Succeeds once the relay first admitted us; fails if the session gave
    /// up or was stopped before that.
    public var firstJoin: EventLoopFuture<Void> { firstJoinPromise.futureResult }

    /// Completes when the session ends: nil when stopped, the error when it
    /// gave up (a refused first attempt, or a lost link without reconnect).
    public var ended: EventLoopFuture<MemberError?> { endedPromise.futureResult }

    /// Binds every configured forward's listener, then starts connecting.
    /// Fails if a listener cannot be bound (the port is taken).
    public func start() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let binds = self.configuration.forwards.map { self.bind($0).map { _ in } }
            return EventLoopFuture.whenAllSucceed(binds, on: self.eventLoop).map { _ in
                self.handle(.start)
            }.flatMapError { error in
                self.stop().flatMapThrowing { throw error }
            }
        }
    }

    // MARK: The link

    private func handle(_ event: LinkStateMachine.Event, member arrived: Member? = nil) {
        eventLoop.preconditionInEventLoop()
        let actions = link.handle(event)
        joinedNow.store(link.isJoined, ordering: .relaxed)
        for action in actions { perform(action, arrived: arrived) }
        noteLinkState(link.state)
    }

    private func perform(_ action: LinkStateMachine.Action, arrived: Member?) {
        switch action {
        case .dial(let mode):
            dial(mode)
        case .scheduleRetry(var delay, let reason, let attempt):
            // Open connections wait for the link: no long backoff while they do.
            if directory.hasSuspendedStreams {
                delay = min(delay, Self.retryCapWhileSuspended * Double.random(in: 0.5...1.0))
            }
            logger.warning("\(reason); reconnecting in \(delay.readable) (attempt \(attempt))")
            lastError = reason
            schedule(after: delay)
        case .waitForCreator(let delay, let announce):
            if announce { logger.info("waiting for a member to create group \(group)") }
            schedule(after: delay)
        case .switchMode(_, let reason):
            logger.info("group \(group) \(reason)")
        case .joined:
            guard let arrived else { return }
            joined(arrived)
        case .lost(let reason):
            lastError = reason
            member = nil
            // After an outage, the most preferred relay first.
            serverIndex = 0
            failbackCheck?.cancel()
            failbackCheck = nil
            waiting.linkLost()
            emit(.linkLost(reason: reason))
        case .discardLink:
            _ = arrived?.leave()
        case .cancelRetry:
            retry?.cancel()
            retry = nil
        case .giveUp(let error):
            lastError = "\(error)"
            end(error)
        }
    }

    /// Jittered down to half of it, so a fleet does not come back in lockstep.
    static let retryCapWhileSuspended = Duration.milliseconds(500)

    private func schedule(after delay: Duration) {
        retry = eventLoop.scheduleTask(in: TimeAmount(delay)) { self.handle(.retryDue) }
    }

    private func dial(_ mode: MemberConfiguration.JoinMode) {
        guard let path = configuration.reservationFile else { return connect(mode, reservation: configuration.member.reservation) }
        // Read again on every attempt (an extended key is picked up), and off
        // the event loop: a slow disk must not stall the streams on it.
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) { try ReservationFile.load(path) }
            .assumeIsolated().whenComplete { result in
                switch result {
                case .success(let key):
                    self.connect(mode, reservation: key)
                case .failure(let error):
                    self.logger.error("group \(self.group): \(error); connecting without the reservation key")
                    self.connect(mode, reservation: nil)
                }
            }
    }

    private func connect(_ mode: MemberConfiguration.JoinMode, reservation: Reservation?) {
        var configuration = self.configuration.member
        let servers = self.configuration.servers
        configuration.server = servers[serverIndex % servers.count]
        configuration.mode = mode
        configuration.reservation = reservation
        let server = configuration.server
        logger.debug("connecting to \(server) (\(mode == .create ? "create" : "join"))")
        Member.connect(configuration, keyring: keyring, eventLoop: eventLoop, logger: logger, directory: directory,
                       onLinkUp: { [weak self] in self?.handle(.linkUp) },
                       onEvent: { [weak self] event in
                           guard let self else { return }
                           self.eventLoop.execute { self.memberEvent(event) }
                       }).whenComplete { result in
            // Next tick: the member finishes handling its welcome first.
            self.eventLoop.execute {
                switch result {
                case .success(let member):
                    self.handle(.welcomed(at: .now()), member: member)
                case .failure(let error):
                    let failure = error as? MemberError ?? .cannotConnect(server, reason: "\(error)")
                    if failure.isConnectFailure, servers.count > 1 {
                        self.serverIndex = (self.serverIndex + 1) % servers.count
                        self.logger.notice("\(server) cannot be reached; next try: \(servers[self.serverIndex])")
                    }
                    self.handle(.failed(failure))
                }
            }
        }
    }

    private func joined(_ member: Member) {
        joins += 1
        self.member = member
        member.closeFuture.whenSuccess { reason in
            self.eventLoop.execute {
                guard self.member === member else { return }
                self.handle(.linkLost(reason: reason, relayWentAway: member.relayWentAway, at: .now()))
            }
        }
        emit(.joined(Peer(cid: member.cid, name: member.name), created: member.created, again: joins > 1))
        if joins == 1 { firstJoinPromise.succeed(()) }
        reportAbsentPeers()
        serveWaiting()
        if serverIndex > 0 { scheduleFailbackCheck() }
    }

    // MARK: Going back to a preferred relay

    /// On a fallback relay: every few seconds, whether an earlier relay
    /// accepts connections again. Every member of the group follows the same
    /// order, so they all end up on the same relay.
    private func scheduleFailbackCheck() {
        failbackCheck = eventLoop.scheduleTask(in: configuration.failbackCheck) { self.checkEarlierRelays() }
    }

    private func checkEarlierRelays() {
        guard let member, serverIndex > 0 else { return }
        let earlier = Array(configuration.servers[..<serverIndex])
        let probes = earlier.map { url in
            ClientBootstrap(group: eventLoop).connectTimeout(.seconds(1)).connect(host: url.host, port: url.port)
                .map { channel -> ServerURL? in
                    channel.close(promise: nil)
                    return url
                }
                .recover { _ in nil }
        }
        EventLoopFuture.whenAllSucceed(probes, on: eventLoop).assumeIsolated().whenComplete { result in
            guard self.member === member, case .success(let answering) = result else { return }
            guard let preferred = answering.compactMap({ $0 }).first else { return self.scheduleFailbackCheck() }
            // Open connections follow: they are suspended and resume on the
            // preferred relay once the peer is there too.
            self.logger.notice("\(preferred) answers again; moving back to it from \(self.configuration.servers[self.serverIndex])")
            _ = member.leave()
        }
    }

    private func memberEvent(_ event: MemberEvent) {
        if case .peerJoined(let peer) = event {
            let arrived = reportedAbsent.filter { $0 == .name(peer.name) || $0 == .cid(peer.cid) }
            for reference in arrived {
                reportedAbsent.remove(reference)
                logger.info("peer \(peer.name) is here; its forwards work now", metadata: ["peer": "\(peer.name)"])
            }
            serveWaiting()
        }
        emit(.member(event))
    }

    private func emit(_ event: Event) { onEvent?(event) }

    // MARK: Forwards

    /// Starts listening for `spec`; the future gives the bound port (useful with port 0).
    public func addForward(_ spec: ForwardSpec) -> EventLoopFuture<Int> {
        eventLoop.flatSubmit {
            self.bind(spec).map { port in
                if !self.configuration.forwards.contains(spec) { self.configuration.forwards.append(spec) }
                self.reportAbsentPeers()
                return port
            }
        }
    }

    private func bind(_ spec: ForwardSpec) -> EventLoopFuture<Int> {
        if spec.ipProtocol == .udp { return bindDatagrams(spec) }
        if let existing = listeners[spec] { return eventLoop.makeSucceededFuture(existing.port) }
        return ForwardListener.start(spec, on: eventLoop) { [weak self] local in self?.accept(local, for: spec) }
            .map { listener in
                self.listeners[spec] = listener
                self.logger.info("forwarding \(readableAddress(host: spec.listen.host, port: listener.port)) to \(spec.peer) \(spec.target)",
                                 metadata: ["forward": "\(spec)"])
                self.emit(.member(.forwardListening(spec, port: listener.port)))
                return listener.port
            }
    }

    private func bindDatagrams(_ spec: ForwardSpec) -> EventLoopFuture<Int> {
        if let existing = datagramListeners[spec] { return eventLoop.makeSucceededFuture(existing.port) }
        return DatagramListener.start(spec, on: eventLoop, logger: logger) { [weak self] spec in self?.datagramSession(for: spec) }
            .map { listener in
                self.datagramListeners[spec] = listener
                self.logger.info("forwarding UDP \(readableAddress(host: spec.listen.host, port: listener.port)) to \(spec.peer) \(spec.target)/udp",
                                 metadata: ["forward": "\(spec)"])
                self.emit(.member(.forwardListening(spec, port: listener.port)))
                return listener.port
            }
    }

    /// Where a UDP forward's datagrams go right now: the session with its
    /// peer on the current link, or nowhere (they are dropped; UDP does not wait).
    private func datagramSession(for spec: ForwardSpec) -> PeerSession? {
        guard let member, member.canOpenStreams, let peer = member.roster.find(spec.peer) else { return nil }
        return member.session(for: peer.cid)
    }

    /// Stops listening for `spec` and resets its waiting connections; its
    /// open streams go on.
    public func removeForward(_ spec: ForwardSpec) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.configuration.forwards.removeAll { $0 == spec }
            self.countersBySpec.removeValue(forKey: spec)
            for entry in self.waiting.removeAll(of: spec) { self.resetWaiting(entry.id) }
            if let listener = self.datagramListeners.removeValue(forKey: spec) {
                self.logger.info("removing forward \(spec)", metadata: ["forward": "\(spec)"])
                return listener.close()
            }
            guard let listener = self.listeners.removeValue(forKey: spec) else { return self.eventLoop.makeSucceededVoidFuture() }
            self.logger.info("removing forward \(spec)", metadata: ["forward": "\(spec)"])
            return listener.close()
        }
    }

    /// The forwards this session listens for, with their bound ports, and
    /// for UDP forwards what they carried and dropped.
    public func forwardList() -> EventLoopFuture<[(spec: ForwardSpec, port: Int, udp: DatagramStats?)]> {
        eventLoop.submit {
            self.configuration.forwards.compactMap { spec in
                if let datagrams = self.datagramListeners[spec] { return (spec, datagrams.port, datagrams.counters.stats) }
                return self.listeners[spec].map { (spec, $0.port, nil) }
            }
        }
    }

    /// The session now, with `peers` as the member reported them.
    func snapshot(peers: [PeerStatus]) -> GroupSessionStatus {
        let forwards = configuration.forwards.compactMap { spec -> ForwardStatus? in
            let port: Int
            var datagrams: DatagramStats?
            if let listener = datagramListeners[spec] {
                port = listener.port
                datagrams = listener.counters.stats
            } else if let listener = listeners[spec] {
                port = listener.port
            } else {
                return nil
            }
            let state: ForwardStatus.State = if let member, member.canOpenStreams {
                member.isPresent(spec.peer) ? .listening : .waitingForPeer
            } else {
                .waitingForLink
            }
            return ForwardStatus(spec: spec, port: port, state: state, traffic: countersBySpec[spec]?.traffic ?? ForwardTraffic(),
                                 datagrams: datagrams)
        }
        let servers = configuration.servers
        return GroupSessionStatus(group: group, link: linkState, since: linkSince, lastError: lastError,
                                  relay: "\(servers[serverIndex % servers.count])", memberName: configuration.member.name, member: member.map { Peer(cid: $0.cid, name: $0.name) },
                                  peers: peers, forwards: forwards)
    }

    private func accept(_ local: Channel, for spec: ForwardSpec) {
        if let member, member.openStream(from: local, for: spec, counters: counters(for: spec)) { return }
        let entry = waiting.add(spec, address: readableAddress(host: spec.listen.host, port: local.localAddress?.port ?? spec.listen.port),
                                reason: member == nil ? .link : .peer(spec.peer), now: .now())
        logger.info("connection to \(entry.address) waits for \(entry.reason) (at most \(configuration.waitLimit.seconds) s)",
                    metadata: ["forward": "\(spec)"])
        let deadline = eventLoop.scheduleTask(deadline: entry.deadline) { self.expire(entry.id) }
        waitingChannels[entry.id] = (local, deadline)
        local.closeFuture.whenComplete { _ in
            self.eventLoop.execute {
                guard self.waiting.take(entry.id) != nil else { return }
                self.waitingChannels.removeValue(forKey: entry.id)?.deadline.cancel()
                self.logger.info("connection to \(entry.address) closed by its program while it waited",
                                 metadata: ["forward": "\(spec)"])
            }
        }
    }

    private func serveWaiting() {
        // A link that just dropped, before its loss reached us, serves nobody:
        // its connections keep waiting for the next one.
        guard let member, member.canOpenStreams, !waiting.isEmpty else { return }
        let now = NIODeadline.now()
        for entry in waiting.ready(isPresent: member.isPresent) {
            guard let (channel, deadline) = waitingChannels.removeValue(forKey: entry.id) else { continue }
            deadline.cancel()
            guard member.openStream(from: channel, for: entry.forward, counters: counters(for: entry.forward)) else {
                logger.error("resetting connection to \(entry.address): no stream could be opened to peer \(entry.forward.peer)",
                             metadata: ["forward": "\(entry.forward)"])
                resetLocal(channel)
                continue
            }
            let waited = Double((now - entry.since).nanoseconds / 1_000_000) / 1000
            logger.info("connection to \(entry.address) waited \(String(format: "%.1f", waited)) s for \(entry.reason); serving it now",
                        metadata: ["forward": "\(entry.forward)"])
        }
    }

    private func expire(_ id: Int) {
        guard let entry = waiting.take(id) else { return }
        logger.warning("resetting connection to \(entry.address): \(entry.reason) did not come within \(configuration.waitLimit.seconds) s",
                       metadata: ["forward": "\(entry.forward)"])
        resetWaiting(id)
    }

    private func resetWaiting(_ id: Int) {
        guard let (channel, deadline) = waitingChannels.removeValue(forKey: id) else { return }
        deadline.cancel()
        resetLocal(channel)
    }

    private func reportAbsentPeers() {
        guard let member else { return }
        for spec in configuration.forwards where !member.isPresent(spec.peer) && !reportedAbsent.contains(spec.peer) {
            reportedAbsent.insert(spec.peer)
            logger.info("waiting for peer \(spec.peer)", metadata: ["peer": "\(spec.peer)", "forward": "\(spec)"])
        }
    }

    // MARK: What the member knows

    /// Runs `body` with the member of the current link, or fails with a
    /// sentence saying the link is down.
    public func withMember<Value: Sendable>(_ body: @escaping @Sendable (Member) -> EventLoopFuture<Value>) -> EventLoopFuture<Value> {
        eventLoop.flatSubmit {
            guard let member = self.member else {
                return self.eventLoop.makeFailedFuture(MemberError.linkDown(group: self.group))
            }
            return body(member)
        }
    }

    /// Our CID and name while joined.
    public func identity() -> EventLoopFuture<Peer?> {
        eventLoop.submit { self.member.map { Peer(cid: $0.cid, name: $0.name) } }
    }

    /// Whether the link is up and the relay admitted us; safe from any thread.
    public var isJoined: Bool { joinedNow.load(ordering: .relaxed) }

    /// Replaces the allow list, now and for every later link.
    @discardableResult
    public func setAllowList(_ list: AllowList) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.configuration.member.allowList = list
            return self.member?.setAllowList(list) ?? self.eventLoop.makeSucceededVoidFuture()
        }
    }

    // MARK: Stopping

    /// Leaves the group, closes every listener and resets waiting connections.
    public func stop() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.handle(.stop)
            return self.end(nil)
        }
    }

    /// Closes everything once; `ended` then reports `error` (nil: stopped).
    @discardableResult
    private func end(_ error: MemberError?) -> EventLoopFuture<Void> {
        guard !ending else { return endedPromise.futureResult.map { _ in } }
        ending = true
        if joins == 0 { firstJoinPromise.fail(error ?? MemberError.disconnected(reason: "stopped before joining")) }
        let reason = error == nil ? "\(configuration.member.name) left the group" : "disconnected from the relay"
        return shutDown(reason: reason).map { self.endedPromise.succeed(error) }
    }

    private func shutDown(reason: String) -> EventLoopFuture<Void> {
        failbackCheck?.cancel()
        failbackCheck = nil
        for entry in waiting.removeAll() { resetWaiting(entry.id) }
        let closing = listeners.values.map { $0.close() } + datagramListeners.values.map { $0.close() }
        listeners.removeAll()
        datagramListeners.removeAll()
        // Before the link goes: peers hear of the resets now, instead of
        // waiting for us to come back.
        directory.closeAll(reason: reason)
        let leaving = member?.leave().recover { _ in } ?? eventLoop.makeSucceededVoidFuture()
        member = nil
        return EventLoopFuture.andAllComplete(closing + [leaving], on: eventLoop)
    }
}

/// Closes a local connection with RST (SO_LINGER 0), so its program sees a
/// failure rather than an empty answer.
func resetLocal(_ channel: Channel) {
    let linger = (channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        ?? channel.eventLoop.makeSucceededVoidFuture()
    linger.whenComplete { _ in channel.close(promise: nil) }
}

extension TimeAmount {
    /// Whole seconds, for log lines.
    var seconds: Int64 { nanoseconds / 1_000_000_000 }
}
