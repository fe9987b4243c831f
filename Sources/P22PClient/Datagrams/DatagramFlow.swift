import NIOCore

/// One UDP flow of a peer session: the datagrams between one local
/// program's address and one target on the peer, both ways, under one id.
///
/// On the forward's side replies go back through the forward's socket to
/// the address that sent the first datagram; on the target's side the flow
/// has a UDP socket of its own, connected to the target, so the target's
/// answers come back to this flow and no other.
final class DatagramFlow {
    enum End {
        /// The forward's side: `source` is the local program.
        case forward(DatagramListener, source: SocketAddress)
        /// The target's side: its socket, once connected.
        case target(Channel?)
    }

    let id: UInt32
    let target: TargetAddress
    let session: PeerSession
    private(set) var end: End
    let counters: DatagramCounters
    /// Only a peer proving this key gets the flow's datagrams (`peer_key`).
    let pinnedKey: [UInt8]?
    let openedAt = NIODeadline.now()
    private(set) var lastActivity = NIODeadline.now()
    /// The forward's side: the open went out under the current session keys.
    var openSent = false
    /// Why the peer will not take this flow; its datagrams are dropped until it ends.
    var refusal: String?
    /// Toward the peer, while the session has no keys yet (at most `pendingLimit`).
    var waitingForKeys: [ByteBuffer] = []
    /// Toward the target, while its socket is being set up (target's side).
    var waitingForSocket: [ByteBuffer] = []
    static let pendingLimit = 64
    private(set) var isEnded = false
    private var idleCheck: Scheduled<Void>?

    init(id: UInt32, target: TargetAddress, session: PeerSession, end: End, counters: DatagramCounters, pinnedKey: [UInt8]? = nil) {
        self.id = id
        self.target = target
        self.session = session
        self.end = end
        self.counters = counters
        self.pinnedKey = pinnedKey
        counters.flowOpened()
    }

    var isForwardSide: Bool {
        if case .forward = end { return true }
        return false
    }

    /// Who the flow is for, in log lines: the local program or the peer.
    var origin: String {
        switch end {
        case .forward(_, let source): "\(source.readable)"
        case .target: session.peerName
        }
    }

    func touch() { lastActivity = .now() }

    func connected(_ channel: Channel) {
        end = .target(channel)
        let waiting = waitingForSocket
        waitingForSocket.removeAll()
        for bytes in waiting { deliverToTarget(bytes) }
    }

    /// A datagram from the peer, to the local program or the target.
    func deliver(_ bytes: ByteBuffer) {
        touch()
        counters.received(bytes.readableBytes)
        switch end {
        case .forward(let listener, let source):
            listener.write(bytes, to: source, counters: counters)
        case .target:
            deliverToTarget(bytes)
        }
    }

    private func deliverToTarget(_ bytes: ByteBuffer) {
        guard case .target(let channel) = end else { return }
        guard let channel else {
            if waitingForSocket.count < Self.pendingLimit { waitingForSocket.append(bytes) }
            else { counters.drop(.busy, logger: session.member.logger, "the UDP socket to \(target) is not ready; dropping datagrams from \(session.peerName)") }
            return
        }
        guard channel.isWritable, let remote = channel.remoteAddress else {
            return counters.drop(.busy, logger: session.member.logger, "the UDP socket to \(target) is full; dropping datagrams from \(session.peerName)")
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: bytes), promise: nil)
    }

    /// Ends the flow after `timeout` without a datagram either way.
    func watchIdle(timeout: TimeAmount, onIdle: @escaping () -> Void) {
        let due = lastActivity + timeout
        idleCheck = session.member.eventLoop.assumeIsolated().scheduleTask(deadline: due) {
            guard !self.isEnded else { return }
            if NIODeadline.now() - self.lastActivity >= timeout { onIdle() } else { self.watchIdle(timeout: timeout, onIdle: onIdle) }
        }
    }

    /// Closes the flow's socket (target's side) or forgets its source (forward's side).
    func close() {
        guard !isEnded else { return }
        isEnded = true
        idleCheck?.cancel()
        counters.flowEnded()
        waitingForKeys.removeAll()
        waitingForSocket.removeAll()
        switch end {
        case .forward(let listener, let source): listener.flowEnded(self, source: source)
        case .target(let channel): channel?.close(promise: nil)
        }
    }
}

extension SocketAddress {
    /// `127.0.0.1:5000` or `[::1]:5000`, as people write addresses.
    var readable: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        return self.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
