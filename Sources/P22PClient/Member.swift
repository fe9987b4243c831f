import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PCrypto
import P22PTransport
import P22PWire
import Synchronization

/// One member of one group: the WebSocket to the relay, the roster, one
/// end-to-end session per peer, and the local forwards. Everything it owns
/// lives on one event loop, so its state needs no locks; public methods hop
/// onto that loop.
public final class Member: @unchecked Sendable {  // state confined to `eventLoop`; public methods hop onto it
    public let eventLoop: EventLoop
    public let configuration: MemberConfiguration
    private let keyring: GroupKeyring
    /// The group's keys for the salt the relay gave; set before create or join.
    private var secrets: GroupSecrets?
    var logger: Logger
    private let onEvent: (@Sendable (MemberEvent) -> Void)?

    private(set) var link: Channel?
    private var joinPromise: EventLoopPromise<Void>?
    private let closedPromise: EventLoopPromise<String>
    private let closed = Atomic<Bool>(false)
    private var closeReason: String?

    /// Our CID; valid once joined.
    public private(set) var cid = CID(0)
    var roster = Roster()
    /// The end-to-end sessions, by peer name; a `GroupSession` keeps them
    /// from one link to the next.
    let directory: PeerDirectory
    /// Whether the relay welcomed us: only then is a lost link news, and
    /// only then do we know our CID, which handshakes bind.
    private(set) var welcomed = false
    /// Whether our welcome said we created the group.
    public private(set) var created = false
    public internal(set) var allowList: AllowList

    private init(configuration: MemberConfiguration, keyring: GroupKeyring, eventLoop: EventLoop,
                 logger: Logger, directory: PeerDirectory?, onEvent: (@Sendable (MemberEvent) -> Void)?) {
        self.configuration = configuration
        self.directory = directory ?? PeerDirectory(resumeTimeout: nil)
        self.keyring = keyring
        self.eventLoop = eventLoop
        self.logger = logger
        self.onEvent = onEvent
        self.allowList = configuration.allowList
        self.closedPromise = eventLoop.makePromise()
    }

    /// Connects to the relay and creates or joins the group. The future
    /// succeeds once the relay has admitted us.
    public static func connect(
        _ configuration: MemberConfiguration, keyring: GroupKeyring, eventLoop: EventLoop, logger: Logger,
        onLinkUp: (@Sendable () -> Void)? = nil, onEvent: (@Sendable (MemberEvent) -> Void)? = nil
    ) -> EventLoopFuture<Member> {
        connect(configuration, keyring: keyring, eventLoop: eventLoop, logger: logger, directory: nil, onLinkUp: onLinkUp, onEvent: onEvent)
    }

    /// As above, with sessions kept in `directory` (which outlives the link).
    static func connect(
        _ configuration: MemberConfiguration, keyring: GroupKeyring, eventLoop: EventLoop, logger: Logger,
        directory: PeerDirectory?, onLinkUp: (@Sendable () -> Void)? = nil, onEvent: (@Sendable (MemberEvent) -> Void)? = nil
    ) -> EventLoopFuture<Member> {
        let member = Member(configuration: configuration, keyring: keyring, eventLoop: eventLoop, logger: logger,
                            directory: directory, onEvent: onEvent)
        let joined = eventLoop.makePromise(of: Void.self)
        member.joinPromise = joined
        let proxy: ProxyURL?
        do {
            proxy = try configuration.proxy.proxy(for: configuration.server, environment: ProcessInfo.processInfo.environment)
        } catch {
            let failure = MemberError.invalidConfiguration(error.description)
            member.joinPromise = nil
            joined.fail(failure)
            member.closedPromise.succeed("\(failure)")
            return eventLoop.makeFailedFuture(failure)
        }
        return RelayDialer.connect(
            to: configuration.server, group: configuration.group, tls: configuration.tls,
            keepalive: configuration.keepalive, maxFrameSize: configuration.maxFrameSize, on: eventLoop, proxy: proxy, logger: logger,
            makeHandler: { MemberConnectionHandler(member: member) }
        ).flatMapError { error in
            member.joinPromise = nil
            joined.fail(error)
            member.closedPromise.succeed("\(error)")
            return eventLoop.makeFailedFuture(error)
        }.flatMap { channel in
            onLinkUp?()
            let timeout = eventLoop.scheduleTask(in: .seconds(15)) {
                joined.fail(MemberError.disconnected(reason: "no answer to \(configuration.mode == .create ? "create" : "join") within 15 s"))
            }
            return joined.futureResult.map {
                timeout.cancel()
                return member
            }.flatMapError { error in
                timeout.cancel()
                channel.close(promise: nil)
                return eventLoop.makeFailedFuture(error)
            }
        }
    }

    /// Admitted, and the link is still up. Call on `eventLoop`.
    public var canOpenStreams: Bool { link != nil && joinPromise == nil }

    /// Whether the link to the relay has ended; safe from any thread.
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Succeeds with the reason once the link to the relay has ended.
    public var closeFuture: EventLoopFuture<String> { closedPromise.futureResult }

    public var name: String { configuration.name }

    // MARK: Control messages from the relay

    func handle(_ message: ControlMessage) {
        switch message {
        case .hello(let version, let challenge, let maxFrameSize, let derivation):
            dataChunk = Limits.dataChunk(forFrameSize: maxFrameSize)
            guard version == ProtocolVersion.current else {
                fail(MemberError.refused(.versionMismatch, message: "the relay speaks protocol version \(version), this client \(ProtocolVersion.current); upgrade the older one"))
                return
            }
            authenticate(challenge: challenge, groupDerivation: derivation)
        case .welcome(let cid, let name, let created):
            self.cid = cid
            self.created = created
            welcomed = true
            logger[metadataKey: "cid"] = "\(cid)"
            logger.info("\(created ? "created" : "joined") group \(configuration.group) as \(name) (CID \(cid))")
            // The roster came first; with our CID known, waiting sessions resume.
            directory.welcomed(on: self)
            emit(.joined(Peer(cid: cid, name: name), group: configuration.group, created: created))
            // Cleared before it is fulfilled: whoever the promise wakes (a
            // session serving waiting connections) must find us joined.
            let joined = joinPromise
            joinPromise = nil
            joined?.succeed(())
        case .memberJoined(let cid, let name, let existing):
            let peer = Peer(cid: cid, name: name)
            roster.add(peer)
            logger.info(existing ? "peer \(peer) is in the group" : "peer \(peer) joined")
            directory.peerArrived(name, cid: cid, on: self)
            emit(.peerJoined(peer))
        case .memberLeft(let cid, _, let reason):
            guard let peer = roster[cid] else { return }
            logger.info("peer \(peer) left (\(reason))")
            directory.peerLeft(peer.name, from: self, reason: "peer \(peer.name) left (\(reason))")
            _ = roster.remove(cid)
            emit(.peerLeft(peer, reason: reason))
        case .refused(let code, let text):
            fail(MemberError.refused(code, message: text))
        case .undeliverable(let cid, let reason):
            if !reason.isEmpty { logger.warning("refused by the relay: \(reason)") }
            guard let peer = roster[cid]?.name else { return }
            if reason.isEmpty {
                // Gone before its departure reached us: it may come back.
                directory.peerLeft(peer, from: self, reason: "peer \(peer) is gone")
            } else {
                // A rule of the group (creator-only): waiting would not help.
                directory.peerRefused(peer, from: self, reason: "refused by the relay: \(reason)")
            }
        case .streamRefused(let cid, let stream, let reason):
            existingSession(for: cid)?.refuseStream(stream, reason: reason)
        case .reservation:
            fail(MemberError.protocolViolation("unexpected reservation from the relay"))
        case .create, .join, .leave, .reserve, .extend:
            fail(MemberError.protocolViolation("the relay sent a member's message"))
        }
    }

    /// Derives the group's keys for its salt (off the loop, unless known)
    /// and answers the challenge with a create or a join.
    private func authenticate(challenge: [UInt8], groupDerivation: KeyDerivation?) {
        let create = configuration.mode == .create
        let derivation: KeyDerivation
        if create {
            derivation = configuration.kdf.derivation(salt: keyring.createSalt)
        } else {
            guard let groupDerivation else {
                // The relay's own answer to a join of a missing group, given
                // early: without the group's salt there is nothing to sign.
                fail(MemberError.refused(.noSuchGroup, message: "group \(configuration.group) does not exist; create it first"))
                return
            }
            let offered = KDFParameters(groupDerivation)
            guard offered.isAtLeast(configuration.kdf) else {
                fail(MemberError.protocolViolation("the relay asks to hash the password with \(offered.description), weaker than the \(configuration.kdf.description) this client accepts; refusing, as that would make guessing the password cheap"))
                return
            }
            guard offered.isWithinCeiling else {
                fail(MemberError.protocolViolation("the relay asks to hash the password with \(offered.description), more than the \(KDFParameters.memoryCeiling >> 20) MiB this client spends on it; refusing"))
                return
            }
            derivation = groupDerivation
        }
        if let known = keyring.cachedSecrets(for: derivation) {
            sendAuthRequest(secrets: known, challenge: challenge, create: create)
            return
        }
        let keyring = self.keyring
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) { try keyring.secrets(for: derivation) }
            .assumeIsolated().whenComplete { result in
                switch result {
                case .success(let secrets):
                    self.sendAuthRequest(secrets: secrets, challenge: challenge, create: create)
                case .failure(let error):
                    self.fail(MemberError.protocolViolation("cannot derive the group's keys from the password: \(error)"))
                }
            }
    }

    private func sendAuthRequest(secrets: GroupSecrets, challenge: [UInt8], create: Bool) {
        self.secrets = secrets
        let identity = configuration.effectiveIdentity
        // The reservation goes only with a create, and only its public part.
        var request = AuthRequest(
            group: configuration.group, name: configuration.name, memberKey: identity.publicKey,
            derivation: create ? secrets.derivation : nil, authPublicKey: create ? secrets.authPublicKey : nil,
            reservation: create ? (configuration.reservation?.publicPart.encoded() ?? []) : [])
        do {
            try secrets.sign(&request, challenge: challenge, identity: identity)
        } catch {
            fail(MemberError.protocolViolation("cannot sign the challenge: \(error)"))
            return
        }
        sendControl(create ? .create(request) : .join(request))
    }

    /// Who we are in pair handshakes; only used once joined.
    var handshakeLocal: PairHandshake.Local? {
        guard let secrets else { return nil }
        return PairHandshake.Local(group: configuration.group, groupKey: secrets.groupKey,
                                   identity: configuration.effectiveIdentity, name: configuration.name, cid: cid)
    }

    func handleRelayed(from source: CID, payload: ByteBuffer) {
        let frame: PeerFrame
        do {
            frame = try PeerFrame.decode(payload)
        } catch {
            logger.warning("dropping malformed frame from CID \(source): \(error)")
            return
        }
        guard let session = session(for: source) else {
            logger.debug("dropping a frame from CID \(source), which is not in the group")
            return
        }
        session.receive(frame)
    }

    /// The session with the member at `peer`, created on first use; nil if
    /// no member is there, or our link is gone (frames of its last read can
    /// still arrive after it closed: they must not pull a suspended session
    /// back onto a dead link).
    func session(for peer: CID) -> PeerSession? {
        guard link != nil, let name = roster[peer]?.name else { return nil }
        return directory.session(named: name, cid: peer, on: self)
    }

    private func existingSession(for peer: CID) -> PeerSession? {
        guard let name = roster[peer]?.name, let session = directory[name], session.member === self else { return nil }
        return session
    }

    func attach(_ channel: Channel) {
        link = channel
    }

    // MARK: Sending

    func sendControl(_ message: ControlMessage) {
        guard let link else { return }
        link.writeAndFlush(framer.message(allocator: link.allocator, capacity: 128) { Frame.control(message).encode(into: &$0) }, promise: nil)
    }

    /// Writes one relayed frame to `peer`; `body` appends the peer frame.
    func sendRelayed(to peer: CID, capacity: Int, _ body: (inout ByteBuffer) -> Void) {
        guard let link else { return }
        let frame = framer.message(allocator: link.allocator, capacity: Frame.relayedHeaderSize + capacity) { buffer in
            Frame.writeRelayedHeader(cid: peer, into: &buffer)
            body(&buffer)
        }
        link.writeAndFlush(frame, promise: nil)
    }

    var linkWritable: Bool { link?.isWritable ?? false }

    /// Whether a UDP datagram may go on the link now. Bulk streams keep the
    /// link at its high-water mark, so "writable" alone would drop most
    /// datagrams during a transfer; instead a datagram may wait behind at
    /// most `datagramQueueLimit` bytes (a fraction of a millisecond on a
    /// fast link), and is dropped beyond that.
    var linkTakesDatagram: Bool {
        guard let link else { return false }
        if link.isWritable { return true }
        guard let buffered = try? link.syncOptions?.getOption(.bufferedWritableBytes) else { return false }
        return buffered < Self.datagramQueueLimit
    }

    static let datagramQueueLimit = 256 * 1024
    private var framer: LinkFramer { configuration.server.framer }

    /// Largest data chunk per frame, fitted to the relay's maximum frame size.
    private(set) var dataChunk = Limits.maxDataChunk

    func linkWritabilityChanged() {
        guard linkWritable else { return }
        for session in directory.sessions(on: self) { session.resumeStreams() }
    }

    // MARK: Link lifecycle

    /// The relay closed the link because it is shutting down (WebSocket
    /// code 1001): reconnecting at once is the right thing, not backing off.
    public private(set) var relayWentAway = false

    func linkFailed(_ error: Error) {
        if case TransportError.closedByPeer(let code, _) = error, code == 1001 { relayWentAway = true }
        if closeReason == nil { closeReason = error is IOError ? describeSocketError(error) : "\(error)" }
    }

    func linkClosed() {
        let reason = closeReason ?? "connection closed"
        fail(MemberError.disconnected(reason: reason))
        link = nil
        directory.linkLost(from: self, reason: "disconnected from the relay")
        // A join that failed is reported through its future, not as a lost link.
        if welcomed { emit(.disconnected(reason: reason)) }
        closed.store(true, ordering: .releasing)
        closedPromise.succeed(reason)
    }

    private func fail(_ error: MemberError) {
        if let joinPromise {
            self.joinPromise = nil
            joinPromise.fail(error)
            link?.close(promise: nil)
        } else if closeReason == nil {
            closeReason = error.description
        }
    }

    func emit(_ event: MemberEvent) { onEvent?(event) }

    // MARK: Public operations

    /// Members currently in the group, other than us.
    public func peers() -> EventLoopFuture<[Peer]> {
        eventLoop.submit { self.roster.all }
    }

    /// Leaves the group and closes the link.
    public func leave() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.closeReason = self.closeReason ?? "left the group"
            self.sendControl(.leave)
            let closed = self.link?.close() ?? self.eventLoop.makeSucceededVoidFuture()
            return closed.recover { _ in }.flatMap { self.closeFuture.map { _ in } }
        }
    }

    /// Carries an accepted local connection to `spec.target` on `spec.peer`.
    /// Returns false, leaving `local` alone, if that peer is not in the group
    /// or the link is down. Call on `eventLoop`, with `local` on it too.
    public func openStream(from local: Channel, for spec: ForwardSpec, counters: ForwardCounters? = nil) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard canOpenStreams, let peer = roster.find(spec.peer) else { return false }
        guard let session = session(for: peer.cid) else { return false }
        _ = session.openStream(target: spec.target, local: local, pinnedKey: spec.peerKey, compress: spec.compress, counters: counters)
        return true
    }

    /// Round trip to a peer through the relay, end to end.
    public func ping(_ reference: PeerReference) -> EventLoopFuture<TimeAmount> {
        eventLoop.flatSubmit {
            guard let peer = self.roster.find(reference), let session = self.session(for: peer.cid) else {
                return self.eventLoop.makeFailedFuture(MemberError.unknownPeer("\(reference)"))
            }
            return session.ping()
        }
    }

    /// Every member but us, and whether an end-to-end session with it is up.
    public func peerStatus() -> EventLoopFuture<[PeerStatus]> {
        eventLoop.submit {
            self.roster.all.map { peer in
                let session = self.existingSession(for: peer.cid)
                return PeerStatus(peer: peer, sessionUp: session?.isReady ?? false, lastRoundTrip: session?.lastRoundTrip)
            }
        }
    }

    /// The streams open right now, for `list`.
    public func streams() -> EventLoopFuture<[StreamInfo]> {
        eventLoop.submit {
            let now = NIODeadline.now()
            return self.directory.sessions.values.flatMap { session in
                session.streams.values.filter { !$0.isEnded }.map { stream in
                    StreamInfo(id: stream.id, peer: session.peerName, target: stream.target, outgoing: stream.initiatedLocally,
                               bytesIn: stream.bytesIn, bytesOut: stream.bytesOut, age: now - stream.openedAt)
                }
            }.sorted { $0.id < $1.id }
        }
    }

    /// The UDP flows open right now, for `list`.
    public func flows() -> EventLoopFuture<[FlowInfo]> {
        eventLoop.submit {
            let now = NIODeadline.now()
            return self.directory.sessions.values.flatMap { session in
                session.flows.values.map { flow in
                    FlowInfo(id: flow.id, peer: session.peerName, target: flow.target, outgoing: flow.isForwardSide,
                             origin: flow.origin, stats: flow.counters.stats, age: now - flow.openedAt, idle: now - flow.lastActivity)
                }
            }.sorted { $0.id < $1.id }
        }
    }

    /// Whether `reference` names a member in the group right now. Call on `eventLoop`.
    public func isPresent(_ reference: PeerReference) -> Bool {
        eventLoop.preconditionInEventLoop()
        return roster.find(reference) != nil
    }

    /// Replaces the allow list. TCP connections already open stay open (as
    /// with ssh); UDP flows to targets it no longer has end, since a flow
    /// lives on for as long as datagrams keep coming.
    @discardableResult
    public func setAllowList(_ list: AllowList) -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.allowList = list
            for session in self.directory.sessions(on: self) { session.allowListChanged() }
        }
    }
}
