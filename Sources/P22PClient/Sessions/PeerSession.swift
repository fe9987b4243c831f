import NIOCore
import P22PCrypto
import P22PWire

/// The end-to-end session with one peer: the authenticated key exchange, the
/// sealing of every stream message, and the streams themselves.
///
/// Messages sent before the handshake completes wait in `queued`. If both
/// sides start a handshake at once, the lower CID's wins and the other side
/// answers it.
final class PeerSession {
    let peer: CID
    unowned let member: Member

    private enum Handshake {
        case idle
        case initiating(PairHandshake.Initiator)
        case established(sealer: FrameSealer, opener: FrameOpener)
    }

    private var handshake = Handshake.idle
    private var queued: [(stream: UInt32, message: StreamMessage)] = []
    /// Messages sent and accepted per stream, part of every frame's
    /// authenticated data (see `FrameSealer`); forgotten when a stream ends.
    private var sentIndex: [UInt32: UInt64] = [:]
    private var receivedIndex: [UInt32: UInt64] = [:]
    private var pendingPings: [UInt64: (promise: EventLoopPromise<TimeAmount>, sent: NIODeadline)] = [:]
    /// Ephemeral keys of inits already answered: a relay replaying an old
    /// (validly MACed) init must not be able to replace a live session.
    private var answeredInits: [[UInt8]] = []
    private static let answeredInitsKept = 32
    private(set) var streams: [UInt32: ForwardedStream] = [:]
    private var nextStreamID: UInt32

    init(peer: CID, member: Member) {
        self.peer = peer
        self.member = member
        // Each side numbers its own streams with its own parity, so ids never collide.
        self.nextStreamID = member.cid < peer ? 1 : 2
    }

    var peerName: String { member.roster[peer]?.name ?? "CID \(peer)" }

    // MARK: Sending

    func send(_ message: StreamMessage, stream: UInt32) {
        guard case .established(var sealer, let opener) = handshake else {
            queued.append((stream, message))
            if case .idle = handshake { startHandshake() }
            return
        }
        var payloadSize = 64
        if case .data(let bytes) = message { payloadSize += bytes.readableBytes }
        let index = sentIndex[stream, default: 0]
        sentIndex[stream] = index + 1
        member.sendRelayed(to: peer, capacity: SealedHeader.encodedSize + payloadSize + FrameSealer.tagSize) { buffer in
            sealer.seal(message, stream: stream, index: index, into: &buffer)
        }
        handshake = .established(sealer: sealer, opener: opener)
        // A last word for a stream that is gone (a refusal, a late reset):
        // nothing more will be sent on it, so its index need not be kept.
        if stream != 0, streams[stream] == nil { sentIndex.removeValue(forKey: stream) }
    }

    private func startHandshake() {
        let initiator = PairHandshake.Initiator(me: member.cid, peer: peer)
        handshake = .initiating(initiator)
        let frame = initiator.initFrame(groupKey: member.secrets.groupKey)
        member.sendRelayed(to: peer, capacity: 80) { frame.encode(into: &$0) }
    }

    private func remember(_ initKey: [UInt8]) {
        answeredInits.append(initKey)
        if answeredInits.count > Self.answeredInitsKept { answeredInits.removeFirst() }
    }

    private func established(_ keys: SessionKeys) {
        handshake = .established(sealer: FrameSealer(key: keys.sending), opener: FrameOpener(key: keys.receiving))
        sentIndex.removeAll()
        receivedIndex.removeAll()
        let waiting = queued
        queued.removeAll()
        for (stream, message) in waiting { send(message, stream: stream) }
    }

    // MARK: Receiving

    func receive(_ frame: PeerFrame) {
        switch frame {
        case .handshakeInit(let key, let mac):
            guard !answeredInits.contains(key) else {
                member.logger.warning("ignoring a replayed handshake from \(peerName)")
                return
            }
            if case .initiating = handshake, member.cid < peer {
                // Ours wins the tie; theirs must still never be answered later.
                remember(key)
                return
            }
            let response: PeerFrame
            let keys: SessionKeys
            do {
                (response, keys) = try PairHandshake.respond(
                    initKey: key, mac: mac, me: member.cid, peer: peer, groupKey: member.secrets.groupKey)
            } catch {
                member.logger.warning("handshake from \(peerName) failed: \(error) (different group password?)")
                return
            }
            remember(key)
            if case .established = handshake {
                // A genuine new handshake means the peer lost its session
                // state; the streams of the old session cannot go on.
                resetAllStreams(reason: "peer restarted its session")
            }
            member.sendRelayed(to: peer, capacity: 80) { response.encode(into: &$0) }
            established(keys)
        case .handshakeResponse(let key, let mac):
            guard case .initiating(let initiator) = handshake else { return }
            do {
                established(try initiator.finish(responseKey: key, mac: mac, groupKey: member.secrets.groupKey))
            } catch {
                member.logger.warning("handshake with \(peerName) failed: \(error) (different group password?)")
                handshake = .idle
            }
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
                guard let stream = streams[header.stream] else { return }
                member.logger.error("frame from \(peerName) on stream \(header.stream) rejected: \(error); resetting the stream")
                stream.handle(.protocolViolation("authentication failed: \(error)"))
                return
            }
            handshake = .established(sealer: sealer, opener: opener)
            receivedIndex[header.stream] = index + 1
            dispatch(message, stream: header.stream)
            // Messages for streams that ended meanwhile leave no state behind.
            if header.stream != 0, streams[header.stream] == nil { receivedIndex.removeValue(forKey: header.stream) }
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
        case .open(let host, let port, let window):
            acceptOpen(id: id, target: TargetAddress(host: host, port: Int(port)), window: Int(window))
        default:
            streams[id]?.receive(message)
        }
    }

    var isEstablished: Bool {
        if case .established = handshake { return true }
        return false
    }

    /// Round trip of a sealed ping through the relay to the peer and back
    /// (the first one includes the handshake if there was no session yet).
    func ping(timeout: TimeAmount = .seconds(5)) -> EventLoopFuture<TimeAmount> {
        let token = UInt64.random(in: 1...UInt64.max)
        let promise = member.eventLoop.makePromise(of: TimeAmount.self)
        pendingPings[token] = (promise, .now())
        send(.ping(token: token), stream: 0)
        member.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.pendingPings.removeValue(forKey: token)?.promise.fail(
                MemberError.disconnected(reason: "no answer from \(self.peerName) within \(timeout.nanoseconds / 1_000_000_000) s"))
        }
        return promise.futureResult
    }

    // MARK: Streams

    /// A local connection accepted by a forward: ask the peer to open `target`.
    func openStream(target: TargetAddress, local: Channel) -> ForwardedStream {
        let id = nextStreamID
        nextStreamID &+= 2
        let stream = ForwardedStream(id: id, session: self, target: target, initiatedLocally: true)
        stream.attach(local)
        streams[id] = stream
        send(.open(host: target.host, port: UInt16(target.port), window: UInt32(member.configuration.streamWindow)), stream: id)
        return stream
    }

    private func acceptOpen(id: UInt32, target: TargetAddress, window: Int) {
        if let existing = streams[id] {
            existing.handle(.protocolViolation("peer opened stream \(id) twice"))
            return
        }
        guard id != 0, id % 2 != nextStreamID % 2 else {
            send(.reset(reason: "stream id \(id) is not valid"), stream: id)
            forget(id)
            return
        }
        guard member.allowList.permits(target) else {
            member.logger.notice("refused stream from \(peerName) to \(target): not in the allow list")
            send(.openRefused(reason: "\(target) is not allowed"), stream: id)
            forget(id)
            return
        }
        let stream = ForwardedStream(id: id, session: self, target: target, initiatedLocally: false)
        try? stream.window.granted(window)
        streams[id] = stream
        stream.connectToTarget()
    }

    /// The relay would not carry this stream's open: end it as refused.
    func refuseStream(_ id: UInt32, reason: String) {
        streams[id]?.handle(.relayRefused(reason: reason))
    }

    func streamEnded(_ id: UInt32) {
        streams.removeValue(forKey: id)
        forget(id)
    }

    private func forget(_ id: UInt32) {
        sentIndex.removeValue(forKey: id)
        receivedIndex.removeValue(forKey: id)
    }

    func resumeStreams() {
        for stream in streams.values { stream.resumeReading() }
    }

    private func resetAllStreams(reason: String) {
        if !streams.isEmpty { member.logger.warning("\(streams.count) stream(s) with \(peerName) reset: \(reason)") }
        for stream in streams.values { stream.sessionEnded(reason: reason) }
        streams.removeAll()
        sentIndex.removeAll()
        receivedIndex.removeAll()
    }

    /// The peer or the link is gone: every stream ends abruptly.
    func close(reason: String) {
        for (_, pending) in pendingPings { pending.promise.fail(MemberError.disconnected(reason: reason)) }
        pendingPings.removeAll()
        resetAllStreams(reason: reason)
        queued.removeAll()
        handshake = .idle
    }
}
