import NIOCore
import NIOPosix
import P22PTransport
import P22PWire

/// One forwarded TCP connection: the local socket on this side, the stream id
/// shared with the peer, and its flow-control window. What may happen next is
/// decided by `StreamStateMachine`; this class performs its actions.
///
/// Reading from the local socket is gated: we only ask NIO for more bytes when
/// the peer has granted credit and the relay link can take writes, so a slow
/// reader anywhere on the path stalls this stream and nothing else.
final class ForwardedStream {
    let id: UInt32
    /// Strong: a write can fail at once and end the link, and with it the
    /// session, while this stream is still acting on it. The session drops
    /// the stream when it ends, so no cycle outlives the stream.
    let session: PeerSession
    let target: TargetAddress
    var window: StreamWindow
    let openedAt = NIODeadline.now()
    private(set) var bytesIn = 0
    private(set) var bytesOut = 0
    /// The figures of the forward this connection came through, if any.
    private var counters: ForwardCounters?
    /// Data bytes handed to the session so far; our `finish` states it.
    private var bytesSent: UInt64 = 0
    /// Data sent but not yet delivered by the peer, from byte `retainedFrom`
    /// to `bytesSent`: resent after a resumption from wherever the peer's
    /// data stopped. At most the peer's window (plus the read buffer the
    /// last slice shares).
    private var retained = CircularBuffer<ByteBuffer>()
    private var retainedFrom: UInt64 = 0
    /// Credit the peer granted (its increments, not its first window): it
    /// delivered every byte before this.
    private var acknowledged: UInt64 = 0
    /// Credit we granted the peer (the sum of our increments).
    private var granted: UInt64 = 0
    private var finishSent = false
    private var finishReceived = false
    /// The peer acknowledged our finish: it has every byte we sent.
    private var finishAcknowledged = false
    /// A cleanly closed stream stays until the peer acknowledges its finish,
    /// in case the last frames were lost with the link and must be resent.
    private var lingering = false
    /// The static key the peer must prove (a forward's `peer_key`), if any.
    let pinnedKey: [UInt8]?
    /// Data chunks may go deflated, both ways: asked for in the open (a
    /// forward's `compress`), on once the peer agreed.
    let wantsCompression: Bool
    private(set) var compressing = false
    private var probe = CompressionProbe()

    private var machine: StreamStateMachine
    private var channel: Channel?
    /// Reads from the local socket that did not fit in the peer's window yet,
    /// kept as they came: joining them would copy every byte again (one read
    /// request can bring several reads, more than the credit left).
    private var held = CircularBuffer<ByteBuffer>()
    private var readWanted = false
    /// The local program sent its FIN; our `finish` follows the held data.
    private var localEOF = false
    /// Completes when the last write to the local socket that asked to be
    /// told has; `writesSinceLastWrite` says whether more went after it.
    private var lastWrite: EventLoopFuture<Void>?
    private var writesSinceLastWrite = false
    /// Of `bytesIn` (all written to the local socket), how many are known to
    /// have left: counted toward the window when a tracked write completes.
    private var deliveredCounted = 0

    init(id: UInt32, session: PeerSession, target: TargetAddress, initiatedLocally: Bool, pinnedKey: [UInt8]? = nil,
         compress: Bool = false) {
        self.id = id
        self.session = session
        self.target = target
        self.pinnedKey = pinnedKey
        self.wantsCompression = compress
        // The accepting side agrees to what the opener asked for.
        self.compressing = compress && !initiatedLocally
        self.machine = StreamStateMachine(initiatedLocally: initiatedLocally)
        self.window = StreamWindow(receiveWindow: session.member.configuration.streamWindow)
    }

    private var member: Member { session.member }
    var initiatedLocally: Bool { machine.initiatedLocally }
    var state: StreamStateMachine.State { machine.state }

    func attach(_ channel: Channel, counters: ForwardCounters? = nil) {
        self.channel = channel
        if let counters {
            self.counters = counters
            counters.connectionOpened()
        }
        let pipeline = channel.pipeline.syncOperations
        // What the program sent (and its FIN) while its connection waited.
        let held = try? pipeline.handler(type: HeldLocalInput.self)
        if let held { pipeline.removeHandler(held, promise: nil) }
        try? pipeline.addHandler(LocalSocketHandler(stream: self))
        if let held {
            for buffer in held.reads { localRead(buffer) }
            if held.inputClosed { localInputClosed() }
        }
        // Accepted connections wait with reading off until a stream owns them;
        // from here the handler decides when to read.
        channel.setOption(.autoRead, value: true).whenFailure { _ in }
    }

    // MARK: Events

    func handle(_ event: StreamStateMachine.Event) {
        // An ended stream ignores everything, and may have outlived its
        // session (late socket events, a peer that left): it must not touch it.
        guard !machine.isEnded else { return }
        member.logger.trace("stream \(id) \(event) in \(machine.state)")
        let actions = machine.handle(event)
        for action in actions { perform(action) }
        guard machine.isEnded else { return }
        counters?.connectionClosed()
        counters = nil
        held.removeAll()
        if machine.state == .closed, machine.wasOpen, !finishAcknowledged {
            lingering = true
            // Its last writes hold the socket; the stream need not.
            channel = nil
        } else {
            retained.removeAll()
            session.streamEnded(id)
        }
    }

    var isEnded: Bool { machine.isEnded }

    private func endLinger() {
        guard lingering else { return }
        lingering = false
        retained.removeAll()
        session.streamEnded(id)
    }

    private func perform(_ action: StreamStateMachine.Action) {
        switch action {
        case .sendAccept:
            session.send(.openAccepted(window: UInt32(window.receiveWindow), compress: compressing), stream: id)
        case .sendRefusal(let reason):
            member.logger.notice("stream from \(session.peerName) refused: \(reason)")
            session.send(.openRefused(reason: reason), stream: id)
        case .sendFinish:
            finishSent = true
            session.send(.finish(sentBytes: bytesSent), stream: id)
        case .sendReset(let reason):
            session.send(.reset(reason: reason), stream: id)
        case .shutDownLocalOutput:
            let channel = self.channel
            writesDone(on: channel).whenComplete { _ in
                channel?.close(mode: .output, promise: nil)
            }
        case .closeLocal:
            let channel = self.channel
            writesDone(on: channel).whenComplete { _ in
                channel?.close(promise: nil)
            }
        case .resetLocal:
            if let channel { resetLocal(channel) }
        case .startReading:
            resumeReading()
        case .reportRefused(let refuser, let reason):
            member.logger.warning("refused by \(refuser == "the peer" ? session.peerName : refuser): \(reason)")
            member.emit(.streamRefused(peer: session.peerName, target: target, reason: reason))
        case .reportReset(let reason, let cause):
            switch cause {
            case .peer: member.logger.info("stream \(id) to \(session.peerName) \(target) reset by the peer: \(reason)")
            case .local: member.logger.warning("stream \(id) with \(session.peerName) \(target) reset: \(reason)")
            case .session: member.logger.debug("stream \(id) with \(session.peerName) \(target) reset: \(reason)")
            }
            member.emit(.streamReset(peer: session.peerName, target: target, reason: reason))
        }
    }

    // MARK: Opening

    /// Accepting side: connect to the target on this machine, then accept or
    /// refuse. `checked` is the allow-list entry the target matched; a host
    /// name in it is resolved once, off the loop, and that very address is
    /// dialled, so what is connected is what was checked.
    func connectToTarget(_ checked: TargetAddress) {
        let eventLoop = member.eventLoop
        let address = checked.resolved(on: eventLoop)
        let target = self.target
        let logger = member.logger
        let id = self.id
        address.assumeIsolated().flatMap { resolved in
            logger.debug("stream \(id): dialling \(resolved.readable) for \(target)")
            return ClientBootstrap(group: eventLoop)
                .connectTimeout(.seconds(10))
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(to: resolved)
        }
        .whenComplete { result in
            // A stream that ended meanwhile may have outlived its session
            // (a peer that left): it must not reach back into it.
            guard !self.machine.isEnded else {
                if case .success(let channel) = result { channel.close(promise: nil) }
                return
            }
            switch result {
            case .success(let channel):
                self.attach(channel)
                self.handle(.targetConnected)
            case .failure(let error):
                self.member.logger.debug("connecting to \(target) failed: \(error)")
                self.handle(.targetFailed(reason: describeConnectFailure(to: "\(target)", error)))
            }
        }
    }

    // MARK: Messages from the peer

    func receive(_ message: StreamMessage) {
        switch message {
        case .openAccepted(let credit, let compress):
            guard !compress || wantsCompression else { return handle(.protocolViolation("the peer turned on compression that was not asked for")) }
            compressing = compress
            handle(.peerAccepted)
            grant(Int(credit))
        case .window(let increment) where machine.isEnded:
            acknowledge(UInt64(increment))
        case .finishAcknowledged:
            guard finishSent else { return handle(.protocolViolation("the peer acknowledged a finish that was not sent")) }
            finishAcknowledged = true
            forgetRetained(upTo: bytesSent)
            if lingering { endLinger() }
        case .openRefused(let reason):
            handle(.peerRefused(reason: reason))
        case .data(let bytes):
            deliver(bytes)
        case .compressedData(let bytes):
            guard compressing || wantsCompression else { return handle(.protocolViolation("compressed data on a stream without compression")) }
            guard let inflated = session.compression?.decompress(bytes, allocator: channel?.allocator ?? ByteBufferAllocator()) else {
                return handle(.protocolViolation("compressed data that does not inflate to a chunk"))
            }
            deliver(inflated)
        case .window(let increment):
            acknowledge(UInt64(increment))
            grant(Int(increment))
        case .finish(let sentBytes):
            // Every frame before the finish was authenticated in order, so a
            // mismatch means the peer miscounted; either way the end is not
            // the one it meant, and a clean close would hide that.
            guard sentBytes == UInt64(bytesIn) else {
                return handle(.protocolViolation("the peer finished after \(sentBytes) bytes but \(bytesIn) arrived"))
            }
            finishReceived = true
            // Before the state changes: the stream may end with it.
            session.send(.finishAcknowledged, stream: id)
            handle(.peerFinished)
        case .reset(let reason):
            handle(.peerReset(reason: reason))
        case .open, .ping, .pong, .rekey, .resume, .datagramOpen, .datagram:
            handle(.protocolViolation("unexpected \(message.kind) on stream \(id)"))
        }
    }

    private func deliver(_ bytes: ByteBuffer) {
        guard machine.acceptsPeerData, let channel else { return handle(.protocolViolation("data on a stream that is not open")) }
        let count = bytes.readableBytes
        do {
            try window.received(count)
        } catch {
            return handle(.protocolViolation("peer overran its window: \(error)"))
        }
        bytesIn += count
        counters?.received(count)
        // Writes complete in order, so only the write after which a grant is
        // due needs to report back: it vouches for every byte before it. The
        // others go without a promise (one per small frame showed up in the
        // round-trip profile).
        guard window.grantDue(afterDelivering: bytesIn - deliveredCounted) else {
            channel.writeAndFlush(bytes, promise: nil)
            writesSinceLastWrite = true
            return
        }
        let write = channel.writeAndFlush(bytes)
        lastWrite = write
        writesSinceLastWrite = false
        let upTo = bytesIn
        // On this loop by construction (the local channel shares the member's
        // loop); unchecked, as this runs for every tracked write.
        write.assumeIsolatedUnsafeUnchecked().whenSuccess {
            let newly = upTo - self.deliveredCounted
            self.deliveredCounted = upTo
            guard !self.machine.isEnded, newly > 0, let grant = self.window.delivered(newly) else { return }
            // Counted as granted even if the link is down: the next `resume`
            // list carries it.
            self.granted += UInt64(grant)
            self.session.send(.window(increment: UInt32(grant)), stream: self.id)
        }
    }

    /// Completes once everything written to the local socket so far has
    /// left: the last tracked write, or an empty write queued behind the
    /// untracked ones.
    private func writesDone(on channel: Channel?) -> EventLoopFuture<Void> {
        guard let channel, writesSinceLastWrite else { return lastWrite ?? member.eventLoop.makeSucceededVoidFuture() }
        writesSinceLastWrite = false
        let marker = channel.writeAndFlush(channel.allocator.buffer(capacity: 0))
        lastWrite = marker
        return marker
    }

    private func grant(_ credit: Int) {
        guard !machine.isEnded else { return }
        do {
            try window.granted(credit)
        } catch {
            return handle(.protocolViolation("window overflow"))
        }
        sendHeld()
        resumeReading()
    }

    // MARK: Local socket

    var canRead: Bool {
        machine.maySend && held.isEmpty && !localEOF && window.sendCredit > 0 && session.isReady && member.linkWritable
    }

    /// NIO wants to read from the local socket; say whether it may now.
    func localReadRequested() -> Bool {
        if canRead { return true }
        readWanted = true
        return false
    }

    func resumeReading() {
        guard readWanted, canRead, let channel else { return }
        readWanted = false
        channel.read()
    }

    /// Bytes from the local socket. Usually only after we asked for them, but
    /// NIO drains a socket eagerly once it sees its EOF, so bytes may also
    /// come while the stream is still opening or out of credit: they wait in
    /// `held` (bounded by the kernel's receive buffer).
    func localRead(_ buffer: ByteBuffer) {
        guard !machine.isEnded else { return }
        bytesOut += buffer.readableBytes
        counters?.sent(buffer.readableBytes)
        held.append(buffer)
        sendHeld()
    }

    /// Sends as much held data as the window allows, in chunks the relay accepts.
    private func sendHeld() {
        // While the session is down, what the program sends waits here and
        // its reads pause.
        guard machine.maySend, session.isReady else { return }
        // Each send may end the stream (a write that fails ends the link).
        while machine.maySend, window.sendCredit > 0, var pending = held.popFirst() {
            while machine.maySend, pending.readableBytes > 0, window.sendCredit > 0 {
                let size = min(pending.readableBytes, window.sendCredit, member.dataChunk)
                window.sent(size)
                bytesSent += UInt64(size)
                let slice = pending.readSlice(length: size)!
                retained.append(slice)
                sendData(slice)
            }
            if pending.readableBytes > 0 { held.prepend(pending) }
        }
        if held.isEmpty, localEOF { handle(.localFinished) }
    }

    /// One chunk to the peer, deflated when that pays (see `CompressionProbe`).
    private func sendData(_ chunk: ByteBuffer) {
        if compressing, probe.shouldTry(), let codec = session.compression {
            let compressed = codec.compress(chunk, sampleFirst: probe.isDoubtful, allocator: channel?.allocator ?? ByteBufferAllocator())
            probe.record(shrank: compressed != nil)
            if let compressed { return session.send(.compressedData(compressed), stream: id) }
        }
        session.send(.data(chunk), stream: id)
    }

    // MARK: Resumption


    /// The peer delivered `increment` more bytes: they need not be kept.
    private func acknowledge(_ increment: UInt64) {
        acknowledged += increment
        forgetRetained(upTo: acknowledged)
    }

    private func forgetRetained(upTo offset: UInt64) {
        while retainedFrom < offset, var first = retained.popFirst() {
            let drop = Int(min(UInt64(first.readableBytes), offset - retainedFrom))
            first.moveReaderIndex(forwardBy: drop)
            retainedFrom += UInt64(drop)
            if first.readableBytes > 0 { retained.prepend(first) }
        }
    }

    /// Where this stream stands, for our `resume` list.
    var resumeState: StreamResume {
        StreamResume(stream: id, received: UInt64(bytesIn), granted: granted, credit: UInt32(clamping: window.receiveRemaining),
                     isOpen: machine.wasOpen, finishReceived: finishReceived)
    }

    /// The peer's side of this stream after a handshake: take its acceptance
    /// if we missed it, resend the data it has not got, and our finish.
    func resume(from peer: StreamResume) {
        guard !machine.isEnded || lingering else { return }
        if initiatedLocally, machine.state == .opening, peer.isOpen {
            // Its acceptance was lost with the link; it agrees to compression when asked.
            compressing = wantsCompression
            handle(.peerAccepted)
        }
        guard peer.received >= retainedFrom, peer.received <= bytesSent else {
            member.logger.error("stream \(id) with \(session.peerName): the peer says it received \(peer.received) bytes, but bytes \(retainedFrom)–\(bytesSent) are what can be resent; resetting the stream")
            return handle(.protocolViolation("the peer's resume point \(peer.received) is outside \(retainedFrom)...\(bytesSent)"))
        }
        forgetRetained(upTo: peer.received)
        acknowledged = max(acknowledged, peer.granted)
        var credit = Int(peer.credit)
        var resent = 0
        for var slice in retained {
            while slice.readableBytes > 0 {
                let size = min(slice.readableBytes, member.dataChunk)
                guard size <= credit else {
                    return handle(.protocolViolation("the peer's window after resuming (\(peer.credit) bytes) is smaller than the \(bytesSent - peer.received) bytes it is missing"))
                }
                credit -= size
                resent += size
                sendData(slice.readSlice(length: size)!)
            }
        }
        if !machine.isEnded { window.resetSendCredit(to: credit) }
        if finishSent, !peer.finishReceived { session.send(.finish(sentBytes: bytesSent), stream: id) }
        if finishSent, peer.finishReceived {
            finishAcknowledged = true
            if lingering { endLinger() }
        }
        if resent > 0 { member.logger.debug("stream \(id): resent \(resent) bytes from byte \(peer.received)") }
    }

    /// The peer's list does not have this stream: it ended there while the
    /// link was down (its reset was lost), or it closed cleanly after our
    /// last frames arrived.
    func peerForgot() {
        if lingering { return endLinger() }
        handle(.peerReset(reason: "it ended while the link was down"))
    }

    /// Both lists are in: go on sending.
    func sessionReady() {
        guard !machine.isEnded else { return }
        sendHeld()
        resumeReading()
    }

    /// The local program shut down its write side (TCP FIN).
    func localInputClosed() {
        guard !machine.isEnded, !localEOF else { return }
        localEOF = true
        sendHeld()
    }

    func localFailed(_ error: Error) {
        // A program that resets its own connection ended it; that is no
        // failure of ours to warn about.
        if let io = error as? IOError, io.errnoCode == ECONNRESET || io.errnoCode == EPIPE {
            return handle(.localClosed)
        }
        handle(.localFailed(reason: describeSocketError(error)))
    }

    func localClosed() {
        // After we shut its output, the program's FIN closes the socket
        // completely: its end of data, sent once the held bytes are out.
        if machine.state == .halfClosedRemote {
            localInputClosed()
        } else {
            handle(.localClosed)
        }
    }

    /// Ends the stream because its session or link is gone.
    func sessionEnded(reason: String) {
        handle(.sessionEnded(reason: reason))
    }
}
