import NIOCore
import NIOPosix
import P22PWire

/// One forwarded TCP connection: the local socket on this side, the stream id
/// shared with the peer, and its flow-control window.
///
/// Reading from the local socket is gated: we only ask NIO for more bytes when
/// the peer has granted credit and the WebSocket can take writes, so a slow
/// reader anywhere on the path stalls this stream and nothing else.
final class ForwardedStream {
    let id: UInt32
    unowned let session: PeerSession
    let target: TargetAddress
    let initiatedLocally: Bool
    var window: StreamWindow
    let openedAt = NIODeadline.now()
    private(set) var bytesIn = 0
    private(set) var bytesOut = 0

    private enum Phase { case opening, open, ended }
    private var phase = Phase.opening
    private var channel: Channel?
    /// Reads from the local socket that did not fit in the peer's window yet,
    /// kept as they came: joining them would copy every byte again (one read
    /// request can bring several reads, more than the credit left).
    private var held = CircularBuffer<ByteBuffer>()
    private var readWanted = false
    private var localFinished = false
    private var finishSent = false
    private var remoteFinished = false
    private var lastWrite: EventLoopFuture<Void>?

    init(id: UInt32, session: PeerSession, target: TargetAddress, initiatedLocally: Bool) {
        self.id = id
        self.session = session
        self.target = target
        self.initiatedLocally = initiatedLocally
        self.window = StreamWindow(receiveWindow: session.member.configuration.streamWindow)
    }

    private var member: Member { session.member }

    func attach(_ channel: Channel) {
        self.channel = channel
        try? channel.pipeline.syncOperations.addHandler(LocalSocketHandler(stream: self))
        // Accepted connections wait with reading off until a stream owns them;
        // from here the handler decides when to read.
        channel.setOption(.autoRead, value: true).whenFailure { _ in }
    }

    // MARK: Opening

    /// Accepting side: connect to the target on this machine, then accept or refuse.
    func connectToTarget() {
        let target = self.target
        ClientBootstrap(group: member.eventLoop)
            .connectTimeout(.seconds(10))
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: target.host, port: target.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard self.phase == .opening else {
                        channel.close(promise: nil)
                        return
                    }
                    self.attach(channel)
                    self.phase = .open
                    self.session.send(.openAccepted(window: UInt32(self.window.receiveWindow)), stream: self.id)
                    self.resumeReading()
                case .failure(let error):
                    guard self.phase == .opening else { return }
                    let reason = "cannot connect to \(target): \(error)"
                    self.member.logger.notice("stream from \(self.session.peerName) refused: \(reason)")
                    self.session.send(.openRefused(reason: reason), stream: self.id)
                    self.end()
                }
            }
    }

    // MARK: Messages from the peer

    func receive(_ message: StreamMessage) {
        member.logger.trace("stream \(id) received \(message.kind) in \(phase)")
        guard phase != .ended else { return }
        switch message {
        case .openAccepted(let credit):
            guard initiatedLocally, phase == .opening else { return protocolError("unexpected open acceptance") }
            phase = .open
            grant(Int(credit))
        case .openRefused(let reason):
            refused(by: session.peerName, reason: reason)
        case .data(let bytes):
            deliver(bytes)
        case .window(let increment):
            grant(Int(increment))
        case .finish:
            remoteFinished = true
            let channel = self.channel
            (lastWrite ?? member.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in
                channel?.close(mode: .output, promise: nil)
                self.endIfDone()
            }
        case .reset(let reason):
            member.logger.info("stream \(id) to \(session.peerName) \(target) reset by the peer: \(reason)")
            member.emit(.streamReset(peer: session.peerName, target: target, reason: reason))
            reset(reason: reason, notifyPeer: false, quietly: true)
        case .open, .ping, .pong:
            protocolError("unexpected \(message.kind) on stream \(id)")
        }
    }

    /// The peer (or the relay) would not open the stream.
    func refused(by refuser: String, reason: String) {
        guard phase != .ended else { return }
        member.logger.warning("refused by \(refuser): \(reason)")
        member.emit(.streamRefused(peer: session.peerName, target: target, reason: reason))
        // Nothing was ever connected, so a plain close (as ssh -L does), not a reset.
        end()
        channel?.close(promise: nil)
    }

    private func deliver(_ bytes: ByteBuffer) {
        guard phase == .open, let channel, !remoteFinished else { return protocolError("data on a stream that is not open") }
        let count = bytes.readableBytes
        do {
            try window.received(count)
        } catch {
            return protocolError("peer overran its window: \(error)")
        }
        bytesIn += count
        let write = channel.writeAndFlush(bytes)
        lastWrite = write
        write.whenSuccess {
            guard self.phase != .ended, let grant = self.window.delivered(count) else { return }
            self.session.send(.window(increment: UInt32(grant)), stream: self.id)
        }
    }

    private func grant(_ credit: Int) {
        do {
            try window.granted(credit)
        } catch {
            return protocolError("window overflow")
        }
        sendHeld()
        resumeReading()
    }

    private func protocolError(_ what: String) {
        member.logger.warning("stream \(id) with \(session.peerName): \(what); resetting it")
        reset(reason: what, notifyPeer: true)
    }

    // MARK: Local socket

    var canRead: Bool {
        phase == .open && held.isEmpty && !localFinished && window.sendCredit > 0 && member.linkWritable
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
        member.logger.trace("stream \(id) read \(buffer.readableBytes) bytes locally in \(phase)")
        guard phase != .ended else { return }
        bytesOut += buffer.readableBytes
        held.append(buffer)
        sendHeld()
    }

    /// Sends as much held data as the window allows, in chunks the relay accepts.
    private func sendHeld() {
        guard phase == .open else { return }
        while window.sendCredit > 0, var pending = held.popFirst() {
            while pending.readableBytes > 0, window.sendCredit > 0 {
                let size = min(pending.readableBytes, window.sendCredit, member.dataChunk)
                window.sent(size)
                session.send(.data(pending.readSlice(length: size)!), stream: id)
            }
            if pending.readableBytes > 0 { held.prepend(pending) }
        }
        if held.isEmpty, localFinished, !finishSent { sendFinish() }
    }

    /// The local program shut down its write side (TCP FIN).
    func localInputClosed() {
        member.logger.trace("stream \(id) local input closed in \(phase)")
        guard phase != .ended, !localFinished else { return }
        localFinished = true
        sendHeld()
    }

    private func sendFinish() {
        finishSent = true
        session.send(.finish, stream: id)
        endIfDone()
    }

    func localFailed(_ error: Error) {
        guard phase != .ended else { return }
        reset(reason: "local connection failed: \(error)", notifyPeer: true)
    }

    /// The local socket closed. After we shut its output, the program's FIN
    /// closes it completely (NIO reports no separate input-closed event then),
    /// so that is a graceful end of its direction; otherwise it is an abort.
    func localClosed() {
        guard phase != .ended else { return }
        if remoteFinished {
            localInputClosed()
        } else {
            reset(reason: "local connection closed", notifyPeer: true, quietly: true)
        }
    }

    private func endIfDone() {
        guard finishSent, remoteFinished, phase != .ended else { return }
        end()
        channel?.close(promise: nil)
    }

    // MARK: Ending

    /// Ends the stream abruptly: the local socket is reset (not closed
    /// gracefully) so the program there sees the failure, as TCP would.
    func reset(reason: String, notifyPeer: Bool, quietly: Bool = false) {
        guard phase != .ended else { return }
        if notifyPeer { session.send(.reset(reason: reason), stream: id) }
        if !quietly { member.emit(.streamReset(peer: session.peerName, target: target, reason: reason)) }
        end()
        if let channel {
            // SO_LINGER 0 makes close() send RST instead of FIN.
            let linger = (channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                ?? channel.eventLoop.makeSucceededVoidFuture()
            linger.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func end() {
        phase = .ended
        held.removeAll()
        session.streamEnded(id)
    }
}
