import NIOCore
import P22PCrypto
import P22PWire

/// The end-to-end session with one peer: the authenticated key exchange, the
/// sealing of every stream message, and the streams themselves.
///
/// A session belongs to the peer's name, not to a link: when the link or
/// the peer drops, it is suspended with its streams, and the next handshake
/// with the same peer (on this relay or another) resumes it, mixing in the
/// earlier session's secret. After every handshake both sides exchange where
/// each stream stands (`resume`) and resend what the other missed; until the
/// peer's list is in, streams send nothing (`isReady`).
///
/// If both sides start a handshake at once, the lower CID's wins and the
/// other side answers it. The peer must prove the name the relay gives it: a
/// session with a member that signed another name is refused, so the relay
/// cannot point a name at someone else.
final class PeerSession {
    let peerName: String
    /// Where the peer is on the current link.
    private(set) var peer: CID
    /// The member of the link this session runs on (or last ran on).
    private(set) var member: Member
    unowned let directory: PeerDirectory
    /// The peer is on the roster of a live link.
    private(set) var isAttached = true

    enum Handshake {
        case idle
        case initiating(PairHandshake.Initiator)
        case established(sealer: FrameSealer, opener: FrameOpener)
    }

    /// When the current sending key was taken into use.
    private var sendingKeySince = NIODeadline.now()

    private(set) var handshake = Handshake.idle
    /// The peer's `resume` list has arrived for the current keys.
    var synced = false
    /// The last session's resumption ticket; nil until a handshake completes.
    private(set) var ticket: ResumptionTicket?
    /// The one before: if the response that made `ticket` was lost, the
    /// peer still offers this one.
    private var previousTicket: ResumptionTicket?
    /// The peer's `resume` list so far, until its last message.
    var peerStreams: [UInt32: StreamResume] = [:]
    /// Window grants and pings made while the peer's list is still on its
    /// way (everything else is rebuilt from the lists).
    var queued: [(stream: UInt32, message: StreamMessage)] = []
    /// Messages sent and accepted per stream, part of every frame's
    /// authenticated data (see `FrameSealer`); forgotten when a stream ends.
    private var sentIndex: [UInt32: UInt64] = [:]
    private var receivedIndex: [UInt32: UInt64] = [:]
    private var pendingPings: [UInt64: (promise: EventLoopPromise<TimeAmount>, sent: NIODeadline)] = [:]
    /// Ephemeral keys of inits already answered: a relay replaying an old
    /// (validly MACed) init must not be able to replace a live session.
    private var answeredInits: [[UInt8]] = []
    private static let answeredInitsKept = 32
    var streams: [UInt32: ForwardedStream] = [:]
    /// UDP flows (see PeerSession+Datagrams), numbered like streams.
    var flows: [UInt32: DatagramFlow] = [:]
    /// Lines about UDP flows, which a peer can open as fast as it likes.
    var datagramLog = LogThrottle()
    /// zlib contexts for streams with compression, made on first use (nil
    /// only if zlib cannot be set up: compression is then declined).
    private(set) lazy var compression: ChunkCompression? = try? ChunkCompression()
    var nextStreamID: UInt32
    /// The name and static key the peer proved in the last handshake.
    private(set) var proof: PairHandshake.PeerProof?
    /// Frames that failed to open in a row, on live streams, new streams or
    /// stream 0 (late frames of ended streams do not count).
    private var failuresInARow = 0
    /// Since when the streams wait for the peer, and the reset that ends the wait.
    var suspension: (since: NIODeadline, reason: String, deadline: Scheduled<Void>)?
    static let handshakeTimeout = TimeAmount.seconds(10)
    /// After this many failures in a row the keys are out of step (a lost
    /// key change, say): the session starts over rather than stay broken.
    static let failuresBeforeRestart = 3

    init(peerName: String, peer: CID, member: Member, directory: PeerDirectory) {
        self.peerName = peerName
        self.peer = peer
        self.member = member
        self.directory = directory
        // Each side numbers its own streams with its own parity, so ids never
        // collide; by name, which every relay gives the same.
        self.nextStreamID = member.name < peerName ? 1 : 2
    }

    var hasStreams: Bool { !streams.isEmpty }

    /// Streams or UDP flows: something worth keeping the session for.
    var holdsTraffic: Bool { !streams.isEmpty || !flows.isEmpty }

    /// Keys are agreed and the peer's list is in: streams may send.
    var isReady: Bool {
        if case .established = handshake { return synced }
        return false
    }

    var isEstablished: Bool {
        if case .established = handshake { return true }
        return false
    }

    // MARK: Links

    /// The peer is at `cid` on `member`'s link. A session with streams
    /// waiting for it resumes at once.
    func attach(to member: Member, cid: CID) {
        let moved = self.member !== member || peer != cid || !isAttached
        self.member = member
        peer = cid
        isAttached = true
        guard moved else { return }
        if isEstablished { dropKeys() }
        linkReady()
    }

    /// Starts resuming if streams wait and our link can handshake.
    func linkReady() {
        if hasStreams, isAttached, case .idle = handshake { startHandshake() }
    }

    /// The link or the peer is gone for now: keys are dropped, streams stay
    /// (their local sockets open, their reads paused) for `timeout`.
    func suspend(reason: String, timeout: TimeAmount) {
        isAttached = false
        dropKeys()
        failPings(reason: reason)
        startWaiting(reason: reason, timeout: timeout)
    }

    /// Streams wait for new keys from here on, at most `timeout`.
    private func startWaiting(reason: String, timeout: TimeAmount) {
        guard suspension == nil else { return }
        let flowsWaiting = flows.isEmpty ? "" : " and \(flows.count) UDP flow(s)"
        member.logger.notice("\(streams.count) connection(s)\(flowsWaiting) with \(peerName) wait for it to come back (\(reason)); at most \(timeout.seconds) s")
        let deadline = member.eventLoop.assumeIsolated().scheduleTask(in: timeout) { self.giveUp(after: timeout) }
        suspension = (.now(), reason, deadline)
    }

    private func giveUp(after timeout: TimeAmount) {
        guard let suspension else { return }
        self.suspension = nil
        resetAllStreams(reason: "\(peerName) did not come back within \(timeout.seconds) s (\(suspension.reason))")
        endAllFlows(reason: "\(peerName) did not come back", tellingPeer: false)
        directory.forget(self)
    }

    private func dropKeys() {
        handshake = .idle
        synced = false
        queued.removeAll()
        peerStreams.removeAll()
        sentIndex.removeAll()
        receivedIndex.removeAll()
    }

    private func failPings(reason: String) {
        for (_, pending) in pendingPings { pending.promise.fail(MemberError.disconnected(reason: reason)) }
        pendingPings.removeAll()
    }

    // MARK: Sending

    /// Seals `message` for the peer. Before the session is ready only window
    /// grants and pings wait; the rest would be stale by then, and the
    /// `resume` lists rebuild it (an open, a finish, a reset, resent data).
    func send(_ message: StreamMessage, stream: UInt32) {
        guard case .established(var sealer, let opener) = handshake, synced || Self.needsNoSync(message) else {
            switch message {
            case .ping:
                queued.append((stream, message))
            case .window where isEstablished, .openAccepted where isEstablished, .openRefused where isEstablished:
                // Made after our list went out: the peer's list cannot
                // bring them back, so they wait for it instead.
                queued.append((stream, message))
            default:
                break
            }
            if case .idle = handshake, isAttached { startHandshake() }
            return
        }
        if needsRekey(sealer) {
            // Announced under the old key, so the peer switches at exactly this frame.
            seal(.rekey, stream: 0, payloadSize: 0, with: &sealer)
            sealer.rekey()
            sendingKeySince = .now()
            member.logger.debug("session with \(peerName): sending key \(sealer.epoch)")
        }
        var payloadSize = 64
        if case .data(let bytes) = message { payloadSize += bytes.readableBytes }
        if case .datagram(let bytes) = message { payloadSize += bytes.readableBytes }
        if case .resume(let entries, _) = message { payloadSize += entries.count * StreamResume.encodedSize }
        seal(message, stream: stream, payloadSize: payloadSize, with: &sealer)
        handshake = .established(sealer: sealer, opener: opener)
        // A last word for a stream that is gone (a refusal, a late reset):
        // nothing more will be sent on it, so its index need not be kept.
        if stream != 0, !isLive(stream) { sentIndex.removeValue(forKey: stream) }
    }

    /// The list itself, and answers to pings, go out as soon as there are keys.
    private static func needsNoSync(_ message: StreamMessage) -> Bool {
        switch message {
        case .resume, .pong: true
        default: false
        }
    }

    private func seal(_ message: StreamMessage, stream: UInt32, payloadSize: Int, with sealer: inout FrameSealer) {
        let index = sentIndex[stream, default: 0]
        sentIndex[stream] = index + 1
        member.sendRelayed(to: peer, capacity: SealedHeader.encodedSize + payloadSize + FrameSealer.tagSize) { buffer in
            sealer.seal(message, stream: stream, index: index, into: &buffer)
        }
    }

    /// After the policy's bytes, or its interval (looked at every 256
    /// frames: the clock is not free and this runs for every frame).
    private func needsRekey(_ sealer: FrameSealer) -> Bool {
        let policy = member.configuration.rekey
        if sealer.sealedBytes >= policy.bytes { return true }
        return sealer.counter & 0xFF == 0xFF && NIODeadline.now() - sendingKeySince >= policy.interval
    }

    // MARK: Handshake

    func startHandshake() {
        // Before the welcome our CID is unknown, and the handshake binds it.
        guard isAttached, member.welcomed, let local = member.handshakeLocal else { return }
        let initiator = PairHandshake.Initiator(local, peer: peer, resuming: ticket)
        handshake = .initiating(initiator)
        // A peer that refuses us (a name it cannot match) says nothing: the
        // streams waiting for the session must not wait forever.
        let started = initiator.message.ephemeralKey
        member.eventLoop.assumeIsolated().scheduleTask(in: Self.handshakeTimeout) {
            guard case .initiating(let pending) = self.handshake, pending.message.ephemeralKey == started else { return }
            self.member.logger.warning("no answer from \(self.peerName) to the end-to-end handshake within \(Self.handshakeTimeout.seconds) s")
            self.abandonHandshake(reason: "no answer from \(self.peerName) to the end-to-end handshake")
        }
        let frame = PeerFrame.handshakeInit(initiator.message)
        member.sendRelayed(to: peer, capacity: 256) { frame.encode(into: &$0) }
    }

    private func remember(_ initKey: [UInt8]) {
        answeredInits.append(initKey)
        if answeredInits.count > Self.answeredInitsKept { answeredInits.removeFirst() }
    }

    private func established(_ keys: SessionKeys, proof: PairHandshake.PeerProof, resumed: Bool) {
        let hadSession = ticket != nil
        // Pings made before there were keys still want their answer.
        let pings = queued.filter { if case .ping = $0.message { true } else { false } }
        dropKeys()
        queued = pings
        handshake = .established(sealer: FrameSealer(key: keys.sending), opener: FrameOpener(key: keys.receiving))
        sendingKeySince = .now()
        failuresInARow = 0
        previousTicket = ticket
        ticket = keys.ticket
        self.proof = proof
        if hadSession, !resumed {
            // The peer no longer has the earlier session (it restarted): what
            // it carried is lost. Opens it never saw can still go.
            let lost = streams.values.filter { !($0.initiatedLocally && $0.state == .opening) }
            if !lost.isEmpty {
                member.logger.warning("\(lost.count) connection(s) with \(peerName) reset: it started a new session (it restarted, or lost its state)")
            }
            for stream in lost { stream.sessionEnded(reason: "\(peerName) started a new session") }
        }
        // Streams whose forward pins another key never reach the peer.
        for stream in streams.values where !accepts(stream) { refuseForPin(stream) }
        datagramKeysChanged(peerRestarted: hadSession && !resumed)
        sendResumeList()
    }

    private func accepts(_ stream: ForwardedStream) -> Bool { accepts(stream.pinnedKey) }

    /// Whether the peer proved `pinned` (or nothing is pinned, or nothing proven yet).
    func accepts(_ pinned: [UInt8]?) -> Bool {
        guard let pinned, let proof else { return true }
        return pinned == proof.staticKey
    }

    private func refuseForPin(_ stream: ForwardedStream) {
        let proven = proof.map { MemberIdentity.text(of: $0.staticKey) } ?? "no key"
        let pinned = stream.pinnedKey.map(MemberIdentity.text(of:)) ?? ""
        stream.handle(.refusedHere(by: "the peer_key pin", reason: "\(peerName) proved key \(proven), but the forward to it pins \(pinned); if its identity changed on purpose, update peer_key"))
    }

    /// Whether the name the peer proved is the one the relay's roster gives
    /// this CID, and (resuming) the key it proved before. Logs why not.
    private func matchesRoster(_ proof: PairHandshake.PeerProof, resumed: Bool) -> Bool {
        let listed = member.roster[peer]?.name
        if listed != proof.name {
            member.logger.error("refusing the session with CID \(peer): the relay lists it as \(listed ?? "nobody") but it proved it is \(proof.name) (key \(proof.keyText)); the relay may be redirecting names")
            return false
        }
        if resumed, let earlier = self.proof, earlier.staticKey != proof.staticKey {
            member.logger.error("refusing the session with \(peerName): it proved key \(proof.keyText), but this session proved \(earlier.keyText) before; the relay may be swapping members")
            return false
        }
        return true
    }

    // MARK: Receiving

    func receive(_ frame: PeerFrame) {
        switch frame {
        case .handshakeInit(let message):
            let key = message.ephemeralKey
            guard !answeredInits.contains(key) else {
                member.logger.warning("ignoring a replayed handshake from \(peerName)")
                return
            }
            if case .initiating = handshake, member.cid < peer {
                // Ours wins the tie; theirs must still never be answered later.
                remember(key)
                return
            }
            guard let local = member.handshakeLocal else { return }
            let tickets = [ticket, previousTicket].compactMap { $0 }
            let answer: (response: HandshakeMessage, keys: SessionKeys, proof: PairHandshake.PeerProof, resumed: Bool)
            do {
                answer = try PairHandshake.respond(to: message, from: peer, as: local, ticket: { id in tickets.first { $0.id == id } })
            } catch {
                member.logger.warning("handshake from \(peerName) refused: \(error)")
                return
            }
            guard matchesRoster(answer.proof, resumed: answer.resumed) else { return }
            remember(key)
            let frame = PeerFrame.handshakeResponse(answer.response)
            member.sendRelayed(to: peer, capacity: 256) { frame.encode(into: &$0) }
            established(answer.keys, proof: answer.proof, resumed: answer.resumed)
        case .handshakeResponse(let message):
            guard case .initiating(let initiator) = handshake else { return }
            let answer: (keys: SessionKeys, proof: PairHandshake.PeerProof, resumed: Bool)
            do {
                answer = try initiator.finish(message)
            } catch {
                member.logger.warning("handshake with \(peerName) failed: \(error)")
                abandonHandshake(reason: "the handshake with \(peerName) failed: \(error)")
                return
            }
            guard matchesRoster(answer.proof, resumed: answer.resumed) else {
                abandonHandshake(reason: "\(peerName) could not prove its name")
                return
            }
            established(answer.keys, proof: answer.proof, resumed: answer.resumed)
        case .sealed(let header, let body):
            guard case .established(let sealer, var opener) = handshake else { return }
            let message: StreamMessage
            let index = receivedIndex[header.stream, default: 0]
            do {
                message = try opener.open(header, body: body, index: index)
            } catch {
                handshake = .established(sealer: sealer, opener: opener)
                // Late frames for a stream that already ended fail too (their
                // index is forgotten); only a live stream is worth a reset.
                let live = streams[header.stream].flatMap { $0.isEnded ? nil : $0 }
                guard live != nil || header.stream == 0 || header.kind == .open || flows[header.stream] != nil else { return }
                failuresInARow += 1
                if failuresInARow >= Self.failuresBeforeRestart {
                    member.logger.error("\(failuresInARow) frames in a row from \(peerName) failed to open (\(error)); starting the session over")
                    restart()
                    return
                }
                if let flow = flows[header.stream] {
                    // Its message count is now out of step with the peer's: a
                    // new flow (the next datagram starts one) is in step again.
                    member.logger.error("frame from \(peerName) on UDP flow \(header.stream) rejected: \(error); ending the flow")
                    endFlow(flow, reason: "a frame on it failed authentication", tellingPeer: true)
                    return
                }
                guard let live else { return }
                member.logger.error("frame from \(peerName) on stream \(header.stream) rejected: \(error); resetting the stream")
                live.handle(.protocolViolation("authentication failed: \(error)"))
                return
            }
            failuresInARow = 0
            if case .rekey = message, header.stream == 0 {
                opener.rekey()
                member.logger.debug("session with \(peerName): receiving key changed")
            }
            handshake = .established(sealer: sealer, opener: opener)
            receivedIndex[header.stream] = index + 1
            dispatch(message, stream: header.stream)
            // Messages for streams that ended meanwhile leave no state behind.
            if header.stream != 0, !isLive(header.stream) { receivedIndex.removeValue(forKey: header.stream) }
        }
    }

    private func dispatch(_ message: StreamMessage, stream id: UInt32) {
        switch message {
        case .ping(let token):
            send(.pong(token: token), stream: 0)
        case .pong(let token):
            if let pending = pendingPings.removeValue(forKey: token) {
                pending.promise.succeed(NIODeadline.now() - pending.sent)
            }
        case .rekey:
            break  // taken into use as it was opened
        case .resume(let entries, let last):
            receiveResume(entries, last: last)
        case .open(let host, let port, let window, let compress):
            acceptOpen(id: id, target: TargetAddress(host: host, port: Int(port)), window: Int(window), compress: compress)
        case .datagramOpen(let host, let port):
            receiveDatagramOpen(id: id, target: TargetAddress(host: host, port: Int(port)))
        default:
            if receiveOnFlow(message, id: id) { return }
            streams[id]?.receive(message)
        }
    }

    /// The last ping's round trip, for the status page.
    private(set) var lastRoundTrip: TimeAmount?

    /// Round trip of a sealed ping through the relay to the peer and back
    /// (the first one includes the handshake if there was no session yet).
    func ping(timeout: TimeAmount = .seconds(5)) -> EventLoopFuture<TimeAmount> {
        let token = UInt64.random(in: 1...UInt64.max)
        let promise = member.eventLoop.makePromise(of: TimeAmount.self)
        pendingPings[token] = (promise, .now())
        send(.ping(token: token), stream: 0)
        promise.futureResult.assumeIsolated().whenSuccess { self.lastRoundTrip = $0 }
        member.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.pendingPings.removeValue(forKey: token)?.promise.fail(
                MemberError.disconnected(reason: "no answer from \(self.peerName) within \(timeout.nanoseconds / 1_000_000_000) s"))
        }
        return promise.futureResult
    }

    // MARK: Streams

    /// A local connection accepted by a forward: ask the peer to open `target`.
    /// With `pinnedKey`, only a peer that proves that key gets the stream.
    func openStream(target: TargetAddress, local: Channel, pinnedKey: [UInt8]? = nil, compress: Bool = false,
                    counters: ForwardCounters? = nil) -> ForwardedStream {
        let id = nextStreamID
        nextStreamID &+= 2
        let stream = ForwardedStream(id: id, session: self, target: target, initiatedLocally: true, pinnedKey: pinnedKey,
                                     compress: compress && compression != nil)
        stream.attach(local, counters: counters)
        streams[id] = stream
        if isEstablished, !accepts(stream) {
            refuseForPin(stream)
            return stream
        }
        sendOpen(stream)
        return stream
    }

    func sendOpen(_ stream: ForwardedStream) {
        send(.open(host: stream.target.host, port: UInt16(stream.target.port), window: UInt32(stream.window.receiveWindow),
                   compress: stream.wantsCompression), stream: stream.id)
    }

    private func acceptOpen(id: UInt32, target: TargetAddress, window: Int, compress: Bool) {
        if let existing = streams[id] {
            existing.handle(.protocolViolation("peer opened stream \(id) twice"))
            return
        }
        if let flow = flows[id] {
            endFlow(flow, reason: "the peer opened a stream under the id of a UDP flow", tellingPeer: true)
            return
        }
        guard id != 0, !isOurs(id) else {
            send(.reset(reason: "stream id \(id) is not valid"), stream: id)
            forget(id)
            return
        }
        guard let checked = member.allowList.checkedAddress(for: target) else {
            member.logger.notice("refused stream from \(peerName) to \(target): not in the allow list")
            send(.openRefused(reason: "\(target) is not allowed"), stream: id)
            forget(id)
            return
        }
        let stream = ForwardedStream(id: id, session: self, target: target, initiatedLocally: false,
                                     compress: compress && compression != nil)
        try? stream.window.granted(window)
        streams[id] = stream
        stream.connectToTarget(checked)
    }

    /// Whether `id` has this side's parity.
    func isOurs(_ id: UInt32) -> Bool { id % 2 == nextStreamID % 2 }

    /// The relay would not carry this stream's open: end it as refused.
    func refuseStream(_ id: UInt32, reason: String) {
        streams[id]?.handle(.relayRefused(reason: reason))
    }

    func streamEnded(_ id: UInt32) {
        streams.removeValue(forKey: id)
        forget(id)
        trafficEnded()
    }

    /// A stream or flow ended: a suspended session with nothing left in it
    /// need not wait for its peer any more.
    func trafficEnded() {
        guard !isAttached, !holdsTraffic else { return }
        suspension?.deadline.cancel()
        suspension = nil
        directory.forget(self)
    }

    /// Whether `id` is a stream or a flow that has not ended.
    private func isLive(_ id: UInt32) -> Bool { streams[id] != nil || flows[id] != nil }

    func forget(_ id: UInt32) {
        sentIndex.removeValue(forKey: id)
        receivedIndex.removeValue(forKey: id)
    }

    func resumeStreams() {
        guard isReady else { return }
        for stream in streams.values { stream.resumeReading() }
    }

    func resetAllStreams(reason: String) {
        let live = streams.values.filter { !$0.isEnded }
        if !live.isEmpty { member.logger.warning("\(live.count) connection(s) with \(peerName) reset: \(reason)") }
        for stream in streams.values { stream.sessionEnded(reason: reason) }
        streams.removeAll()
        sentIndex.removeAll()
        receivedIndex.removeAll()
    }

    /// The keys are out of step, or frames are being forged: new keys,
    /// resuming the streams if the peer still has the session.
    private func restart() {
        dropKeys()
        failuresInARow = 0
        waitForNewKeys(reason: "frames from \(peerName) kept failing authentication")
        // At once, so the peer, still sending under the old keys, moves too.
        startHandshake()
    }

    /// No session came of our handshake. Streams that never reached the peer
    /// end; streams of an earlier session wait (within the resumption
    /// timeout) while the handshake is tried again.
    private func abandonHandshake(reason: String) {
        handshake = .idle
        guard ticket != nil, directory.resumeTimeout != nil, hasStreams else { return resetAllStreams(reason: reason) }
        waitForNewKeys(reason: reason)
        startHandshake()
    }

    /// Bounds a wait for keys that happens while the link is up.
    private func waitForNewKeys(reason: String) {
        guard hasStreams else { return }
        if let timeout = directory.resumeTimeout, timeout > .zero {
            startWaiting(reason: reason, timeout: timeout)
        } else {
            resetAllStreams(reason: reason)
        }
    }

    /// The group is being left, or there is no resuming: every stream ends
    /// (with a word to the peer if `tellingPeer` and the session is up).
    func close(reason: String, tellingPeer: Bool = false) {
        failPings(reason: reason)
        suspension?.deadline.cancel()
        suspension = nil
        if tellingPeer, isReady {
            for stream in streams.values where !stream.isEnded { send(.reset(reason: reason), stream: stream.id) }
        }
        endAllFlows(reason: reason, tellingPeer: tellingPeer)
        resetAllStreams(reason: reason)
        dropKeys()
        isAttached = false
    }
}
