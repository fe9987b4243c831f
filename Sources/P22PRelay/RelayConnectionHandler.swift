import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import P22PCrypto
import P22PTransport
import P22PWire

/// One member's link on the relay, after the HTTP upgrade or the stream
/// preamble. Inbound are whole binary messages (see `LinkMessageHandler`). Before joining only
/// `create` and `join` are accepted; after, relayed frames are routed by CID
/// and `leave` ends the membership.
final class RelayConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case awaitingAuth(challenge: [UInt8])
        /// A reservation is being written or checked; nothing else is
        /// accepted meanwhile.
        case busy
        case joined(MemberLink, RelayGroup)
        case closed
    }

    private var state: State
    private let registry: GroupRegistry
    private let configuration: RelayConfiguration
    private let stats: RelayStats
    private let joinLimiter: AddressRateLimiter
    private let reserveLimiter: AddressRateLimiter
    private let reservations: any ReservationStore
    private let limits: AddressLimits
    private let clientAddress: String
    private let routingKey: String
    /// How this member's link frames messages (WebSocket or stream).
    private let framer: LinkFramer
    private let authDeadline: Scheduled<Void>?
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var paused = false
    private var readPending = false
    /// Frames of the read cycle that was under way when we paused; routed on
    /// resume. At most one read cycle's worth, since no reads follow a pause.
    private var heldWhilePaused: [ByteBuffer] = []

    init(shared: RelayServer.Shared, routingKey: String, framer: LinkFramer, clientAddress: String, authDeadline: Scheduled<Void>?, logger: Logger) {
        var challenge = [UInt8](repeating: 0, count: ControlMessage.challengeSize)
        var generator = SystemRandomNumberGenerator()
        for index in challenge.indices { challenge[index] = generator.next() }
        self.state = .awaitingAuth(challenge: challenge)
        self.registry = shared.registry
        self.configuration = shared.configuration
        self.stats = shared.stats
        self.joinLimiter = shared.joinLimiter
        self.reserveLimiter = shared.reserveLimiter
        self.reservations = shared.reservations
        self.limits = shared.limits
        self.clientAddress = clientAddress
        self.routingKey = routingKey
        self.framer = framer
        self.authDeadline = authDeadline
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        stats.connections.add(1, ordering: .relaxed)
        stats.metrics.accepted()
        if case .awaitingAuth(let challenge) = state {
            // The salt of the group this path routes to, so a joiner can
            // derive its keys; none if nobody created that group yet.
            let derivation = registry.group(routingKey: routingKey)?.derivation
            send(.hello(version: ProtocolVersion.current, challenge: challenge, maxFrameSize: configuration.maxFrameSize,
                        derivation: derivation), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        leaveGroup(reason: "disconnected")
        stats.connections.subtract(1, ordering: .relaxed)
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        leaveGroup(reason: "disconnected")
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case TransportError.closedByPeer:
            logger.debug("connection closed", metadata: ["reason": "\(error)"])
            leaveGroup(reason: "disconnected")
        case is TransportError, is any LinkFrameFailure:
            // The link layer is already closing with a reason of its own.
            logger.notice("closing connection", metadata: ["reason": "\(error)"])
            leaveGroup(reason: "\(error)")
        default:
            logger.notice("closing connection", metadata: ["reason": "\(error)"])
            leaveGroup(reason: "\(error)")
            context.close(promise: nil)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if paused {
            heldWhilePaused.append(buffer)
            return
        }
        handle(buffer, context: context)
    }

    private func handle(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        if let destination = Frame.relayedCID(in: buffer) {
            route(buffer, to: destination, context: context)
            return
        }
        let message: ControlMessage
        do {
            guard case .control(let decoded) = try Frame.decode(buffer) else { return }
            message = decoded
        } catch {
            disconnect(reason: "malformed frame: \(error)")
            return
        }
        switch (message, state) {
        case (.create(let request), .awaitingAuth(let challenge)):
            if let reservation = reservationToCheck(request) {
                check(reservation, then: request, challenge: challenge, context: context)
            } else {
                admit(request, create: true, challenge: challenge, context: context)
            }
        case (.join(let request), .awaitingAuth(let challenge)):
            admit(request, create: false, challenge: challenge, context: context)
        case (.reserve(let group, let creatorOnly, let creatorKey), .awaitingAuth):
            reserve(group, creatorOnly: creatorOnly, creatorKey: creatorKey, context: context)
        case (.extend(let key), .awaitingAuth):
            extend(key, context: context)
        case (.leave, .joined):
            leaveGroup(reason: "left")
            disconnect(reason: "left the group", code: .normalClosure, quietly: true)
        case (.create, .joined), (.join, .joined):
            refuse(.alreadyJoined, "this connection is already in a group; open another connection for another group")
        default:
            disconnect(reason: "unexpected \(message) in this state")
        }
    }

    private func route(_ frame: ByteBuffer, to destination: CID, context: ChannelHandlerContext) {
        // The common case, checked inline (this runs for every frame): joined,
        // a payload, a present destination, no creator-only rule. Everything
        // else is decided by `Routing.decide`.
        guard case .joined(let me, let group) = state, frame.readableBytes > Frame.relayedHeaderSize, destination != me.cid,
              !group.creatorOnly, let target = group.member(destination) else {
            return routeUnusual(frame, to: destination, context: context)
        }
        forward(frame, from: me, to: target, context: context)
    }

    private func routeUnusual(_ frame: ByteBuffer, to destination: CID, context: ChannelHandlerContext) {
        let joined: (me: MemberLink, group: RelayGroup)? = if case .joined(let me, let group) = state { (me, group) } else { nil }
        let target = joined.flatMap { $0.group.member(destination) }
        let decision = Routing.decide(Routing.Frame(
            source: joined?.me.cid ?? CID(0), destination: destination, senderJoined: joined != nil,
            hasPayload: frame.readableBytes > Frame.relayedHeaderSize, destinationPresent: target != nil,
            group: joined?.group.name ?? "", creatorOnly: joined?.group.creatorOnly ?? false, creator: joined?.group.creator))
        switch decision {
        case .deliver:
            if let me = joined?.me, let target { forward(frame, from: me, to: target, context: context) }
        case .disconnect(let reason):
            disconnect(reason: reason)
        case .undeliverable(let reason):
            // Counted and bounded like relayed frames, so a member that keeps
            // sending to nobody and never reads the answers cannot grow memory.
            if let me = joined?.me { me.send(.undeliverable(cid: destination, reason: reason), pausing: me) }
        }
    }

    private func forward(_ frame: ByteBuffer, from me: MemberLink, to target: MemberLink, context: ChannelHandlerContext) {
        guard account(frame, from: me, to: target, context: context) else { return }
        var (head, body) = OutgoingFrames.relayed(frame, from: me.cid, framer: target.framer, allocator: context.channel.allocator)
        if let tap = configuration.frameTap, !tap(&body) { return }
        target.deliver(head, body: body, pausing: me)
    }

    /// Keeps the stream ledgers from the clear header of sealed frames;
    /// refuses an open beyond the member's stream limit.
    private func account(_ frame: ByteBuffer, from me: MemberLink, to target: MemberLink, context: ChannelHandlerContext) -> Bool {
        let start = frame.readerIndex + Frame.relayedHeaderSize
        guard frame.getInteger(at: start, as: UInt8.self) == 0x03,
              let rawKind = frame.getInteger(at: start + 1, as: UInt8.self), let kind = StreamMessageKind(rawValue: rawKind),
              let stream = frame.getInteger(at: start + 2, as: UInt32.self), stream != 0 else { return true }
        switch kind {
        case .open:
            guard me.streams.opened(stream: stream, toward: target.cid, limit: configuration.maxStreamsPerMember) else {
                me.send(.streamRefused(cid: target.cid, stream: stream,
                                       reason: "too many open streams (this relay allows \(configuration.maxStreamsPerMember) per member)"),
                        pausing: me)
                stats.metrics.refused("tooManyStreams")
                return false
            }
        case .reset, .openRefused:
            me.streams.ended(stream: stream, with: target.cid)
            target.streams.ended(stream: stream, with: me.cid)
        case .finish:
            me.streams.finished(stream: stream, with: target.cid, byOpener: true)
            target.streams.finished(stream: stream, with: me.cid, byOpener: false)
        default:
            break
        }
        return true
    }

    // MARK: Joining and leaving

    private func admit(_ request: AuthRequest, create: Bool, challenge: [UInt8], context: ChannelHandlerContext,
                       checked: Result<Void, ReservationFailure>? = nil) {
        let existing = create ? nil : registry.group(named: request.group)
        let verifier = create ? request.authPublicKey.flatMap(AuthVerifier.init(publicKey:)) : existing?.verifier
        let decision = Admission.decide(Admission.Request(
            version: request.version, group: request.group, address: clientAddress, name: request.name, create: create,
            pathMatches: RoutingKey.key(forGroup: request.group) == routingKey,
            // The password and the member key, both over this connection's
            // fresh challenge: a request captured elsewhere proves neither.
            signed: { verifier?.verify(request, challenge: challenge) ?? false },
            memberKeyProven: { AuthVerifier.verifyMemberKey(request, challenge: challenge) },
            rateLimited: !create && !joinLimiter.allows(clientAddress),
            groupExists: existing != nil,
            reservation: { create ? self.reservationStanding(request, checked: checked) : .notNeeded }))
        let group: RelayGroup
        switch decision {
        case .refuse(let code, let message, let failedJoin):
            if failedJoin {
                logger.notice("failed join", metadata: ["group": "\(request.group)", "name": "\(request.name)"])
                joinLimiter.recordFailure(clientAddress)
            }
            refuse(code, message)
            return
        case .create(let creatorOnly):
            if let refusal = limits.createRefusal(from: clientAddress) { return refuse(refusal.code, refusal.message) }
            do throws(GroupRegistry.CreateError) {
                group = try registry.create(request.group, verifier: verifier!, derivation: request.derivation!,
                                            creatorOnly: creatorOnly, maxGroups: configuration.maxGroups)
            } catch {
                let (code, message) = Admission.refusal(error, group: request.group, maxGroups: configuration.maxGroups)
                refuse(code, message)
                return
            }
            limits.recordCreate(from: clientAddress)
        case .join:
            group = existing!
        }
        let channel = context.channel
        let admitted: (MemberLink, RelayGroup.Snapshot, replaced: MemberLink?)
        do {
            admitted = try group.admit(name: request.name, memberKey: request.memberKey, limit: configuration.maxMembersPerGroup) { cid in
                MemberLink(cid: cid, name: request.name, memberKey: request.memberKey, channel: channel, framer: self.framer, connection: self,
                           configuration: self.configuration, stats: self.stats)
            }
        } catch {
            if create { registry.removeIfEmpty(group) }  // undo a create whose first member was refused
            let (code, message) = Admission.refusal(error, group: request.group, name: request.name)
            refuse(code, message)
            return
        }
        let (me, everyone, replaced) = admitted
        let others = everyone.values.lazy.filter { $0 !== me }
        if let replaced {
            replaced.disconnect(reason: "replaced by a new session of the same member")
            for other in others {
                other.streams.forget(peer: replaced.cid)
                other.send(.memberLeft(cid: replaced.cid, name: replaced.name, reason: "reconnected"))
            }
        }
        authDeadline?.cancel()
        state = .joined(me, group)
        logger[metadataKey: "group"] = "\(group.name)"
        logger[metadataKey: "cid"] = "\(me.cid)"
        logger.info("member \(create ? "created group" : "joined")", metadata: ["name": "\(me.name)"])
        // Tell the others first: once the newcomer has its welcome it may send
        // them frames, and those must not overtake the news of its arrival.
        for other in others { other.send(.memberJoined(cid: me.cid, name: me.name, existing: false)) }
        // The roster before the welcome: once a client is told it is in, it
        // already knows who else is.
        for other in others { send(.memberJoined(cid: other.cid, name: other.name, existing: true), context: context, flush: false) }
        send(.welcome(cid: me.cid, name: me.name, created: create), context: context, flush: false)
        context.flush()
    }

    /// The reservation key of a create for a `#` group, if it is one for that
    /// group: the store has to check it before admission can decide.
    private func reservationToCheck(_ request: AuthRequest) -> Reservation? {
        guard request.group.hasPrefix("#"), !request.reservation.isEmpty,
              let reservation = Reservation.decode(request.reservation), reservation.group == request.group else { return nil }
        return reservation
    }

    /// Asks the store about the reservation (a database may take a moment),
    /// then admits with its verdict, back on this connection's loop.
    private func check(_ reservation: Reservation, then request: AuthRequest, challenge: [UInt8], context: ChannelHandlerContext) {
        state = .busy
        let store = reservations
        let now = Self.now()
        context.eventLoop.makeFutureWithTask { () async -> Result<Void, ReservationFailure> in
            do throws(ReservationFailure) {
                try await store.validate(reservation, now: now)
                return .success(())
            } catch {
                return .failure(error)
            }
        }.assumeIsolated().whenSuccess { verdict in
            guard let context = self.context, case .busy = self.state else { return }
            self.state = .awaitingAuth(challenge: challenge)
            self.admit(request, create: true, challenge: challenge, context: context, checked: verdict)
        }
    }

    /// What the reservation key of a create is worth, for a `#` group;
    /// `checked` is the store's verdict on it.
    private func reservationStanding(_ request: AuthRequest, checked: Result<Void, ReservationFailure>?) -> Admission.ReservationStanding {
        guard request.group.hasPrefix("#") else { return .notNeeded }
        guard !request.reservation.isEmpty else { return .missing }
        guard let reservation = reservationToCheck(request), let checked else { return .unusable }
        if case .failure(let error) = checked { return .rejected(error.message) }
        // The signature covers the creator key, and the request proved its
        // member key: only the member the relay reserved for gets past here.
        guard reservation.creatorKey == request.memberKey else {
            return .rejected("the reservation of \(request.group) belongs to another member key; create it with the key file that `p22p reserve` wrote")
        }
        return .valid(creatorOnly: reservation.creatorOnly)
    }

    // MARK: Reservations

    private func reserve(_ group: String, creatorOnly: Bool, creatorKey: [UInt8], context: ChannelHandlerContext) {
        guard RoutingKey.key(forGroup: group) == routingKey else {
            refuse(.invalidRequest, "the URL path does not match group \(group)")
            return
        }
        guard reserveLimiter.allows(clientAddress) else {
            refuse(.rateLimited, "too many reservations from \(clientAddress); try again later")
            return
        }
        guard MemberIdentity.isPublicKey(creatorKey) else {
            refuse(.invalidRequest, "the creator key of the reservation is not an Ed25519 public key")
            return
        }
        reserveLimiter.recordFailure(clientAddress)
        let store = reservations
        let now = Self.now()
        let (holder, held) = (clientAddress, configuration.reservationsPerAddress)
        offLoop(context) { () async throws(ReservationFailure) in
            try await store.reserve(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey, now: now, holder: holder, heldPerAddress: held)
        } then: { reservation in
            self.logger.info("reserved", metadata: ["group": "\(group)", "mode": "\(reservation.mode)"])
        }
    }

    private func extend(_ key: [UInt8], context: ChannelHandlerContext) {
        guard reserveLimiter.allows(clientAddress) else {
            refuse(.rateLimited, "too many reservation requests from \(clientAddress); try again later")
            return
        }
        reserveLimiter.recordFailure(clientAddress)
        guard let reservation = Reservation.decode(key) else {
            refuse(.invalidRequest, "that is not a reservation key file")
            return
        }
        guard RoutingKey.key(forGroup: reservation.group) == routingKey else {
            refuse(.invalidRequest, "the URL path does not match group \(reservation.group)")
            return
        }
        let store = reservations
        let now = Self.now()
        offLoop(context) { () async throws(ReservationFailure) in try await store.extend(reservation, now: now) } then: { renewed in
            self.logger.info("reservation extended", metadata: ["group": "\(renewed.group)"])
        }
    }

    /// Runs a reservation change away from the event loop (the store writes
    /// a file or asks a database), so every other member on this loop keeps
    /// flowing meanwhile; then grants its result or refuses with its failure,
    /// back on this connection's loop.
    private func offLoop(_ context: ChannelHandlerContext, _ work: @escaping @Sendable () async throws(ReservationFailure) -> Reservation,
                         then granted: @escaping (Reservation) -> Void) {
        state = .busy
        context.eventLoop.makeFutureWithTask { () async -> Result<Reservation, ReservationFailure> in
            do throws(ReservationFailure) {
                return .success(try await work())
            } catch {
                return .failure(error)
            }
        }.assumeIsolated().whenSuccess { result in
            guard let context = self.context else { return }
            switch result {
            case .success(let reservation):
                granted(reservation)
                self.grant(reservation, context: context)
            case .failure(let error):
                self.refuse(error.refusalCode, error.message)
            }
        }
    }

    /// One reservation per connection: the answer, then the close.
    private func grant(_ reservation: Reservation, context: ChannelHandlerContext) {
        send(.reservation(key: reservation.encoded()), context: context)
        state = .closed
        context.pipeline.triggerUserOutboundEvent(CloseWithReason(code: .normalClosure, reason: "reservation sent"), promise: nil)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// A small, fixed set of labels for the disconnect metric.
    static func category(of reason: String) -> String {
        if reason == "left" || reason == "left the group" { return "left" }
        if reason == "disconnected" { return "closed" }
        if reason.contains("keepalive") { return "keepalive_timeout" }
        if reason.contains("not reading") { return "not_reading" }
        if reason.contains("replaced") { return "replaced" }
        if reason.contains("creator") { return "group_ended" }
        return "protocol_error"
    }

    private func leaveGroup(reason: String) {
        guard case .joined(let me, let group) = state else { return }
        state = .closed
        me.wakeWaiters()
        guard let remaining = group.remove(me.cid) else {
            logger.info("stale session closed", metadata: ["name": "\(me.name)", "reason": "\(reason)"])
            return
        }
        let others = remaining.values
        if others.isEmpty { registry.removeIfEmpty(group) }
        for other in others {
            other.streams.forget(peer: me.cid)
            other.send(.memberLeft(cid: me.cid, name: me.name, reason: reason))
        }
        if group.creatorOnly, group.creator == me.cid {
            // Without its creator a creator-only group has nobody to talk to.
            let why = "the creator of \(group.name) left; the group has ended"
            for other in others { other.disconnect(reason: why, code: .normalClosure) }
        }
        logger.info("member left", metadata: ["name": "\(me.name)", "reason": "\(reason)"])
        stats.metrics.disconnected(Self.category(of: reason))
    }

    private func refuse(_ code: RefusalCode, _ message: String) {
        guard let context else { return }
        stats.metrics.refused("\(code)")
        // Join or create? Members find out by asking: a missing group (a member
        // waiting for its creator asks every second) or one that exists is an
        // expected step of that, not news.
        let expected = code == .noSuchGroup || code == .groupExists
        logger.log(level: expected ? .debug : .info, "refused", metadata: ["reason": "\(message)"])
        send(.refused(code, message: message), context: context)
        // A refused connection gets no second try: the client reconnects with a fresh challenge.
        context.pipeline.triggerUserOutboundEvent(CloseWithReason(code: .normalClosure, reason: message), promise: nil)
    }

    /// Ends this connection with a reason in the log and in the close frame.
    func disconnect(reason: String, code: WebSocketErrorCode = .protocolError, quietly: Bool = false, abruptly: Bool = false) {
        guard let context else { return }
        if !quietly { logger.notice("closing connection", metadata: ["reason": "\(reason)"]) }
        leaveGroup(reason: reason)
        if abruptly {
            context.close(promise: nil)
        } else {
            context.pipeline.triggerUserOutboundEvent(CloseWithReason(code: code, reason: reason), promise: nil)
        }
    }

    private func send(_ message: ControlMessage, context: ChannelHandlerContext, flush: Bool = true) {
        let buffer = OutgoingFrames.control(message, framer: framer, allocator: context.channel.allocator)
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if paused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Stops reading from this member until `target` has drained, so a fast
    /// sender cannot grow the relay's memory; its TCP window then pushes back.
    func pauseReading(until target: MemberLink) {
        guard !paused, let me, let context else { return }
        paused = true
        logger.debug("pausing reads", metadata: ["until": "\(target.cid)", "queued": "\(target.bufferedBytes)"])
        context.triggerUserOutboundEvent(ReadSuspension(suspended: true), promise: nil)
        target.addWaiter(me)
    }

    func resumeReading() {
        guard paused, let context else { return }
        paused = false
        logger.debug("resuming reads")
        context.triggerUserOutboundEvent(ReadSuspension(suspended: false), promise: nil)
        while !paused, !heldWhilePaused.isEmpty {
            handle(heldWhilePaused.removeFirst(), context: context)
        }
        if !paused, readPending {
            readPending = false
            context.read()
        }
    }

    private var me: MemberLink? {
        if case .joined(let link, _) = state { return link }
        return nil
    }
}
