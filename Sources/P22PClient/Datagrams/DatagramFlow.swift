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
    /// Why the peer will not take this flow; its datagrams are dropped
    /// until it ends. Drops are not traffic, so a refused flow idles out
    /// and the next datagram asks again.
    private(set) var refusal: String?
    /// The refusal came from the peer, not from our own `peer_key` pin: new
    /// keys (a restarted peer, perhaps with a new allow list) clear it.
    private(set) var refusedByPeer = false
    /// Toward the peer, while the session has no keys yet.
    private(set) var waitingForKeys = DatagramQueue()
    /// Toward the target, while its socket is being set up (target's side).
    private var waitingForSocket = DatagramQueue()
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
        for bytes in waitingForSocket.takeAll() { deliverToTarget(bytes) }
    }

    /// Keeps `bytes` until the session has keys; false if the queue is full.
    func waitForKeys(_ bytes: ByteBuffer) -> Bool {
        guard waitingForKeys.append(bytes) else { return false }
        touch()
        return true
    }

    func takeWaitingForKeys() -> [ByteBuffer] { waitingForKeys.takeAll() }

    func clearRefusal() {
        refusal = nil
        refusedByPeer = false
    }

    func refuse(_ reason: String, byPeer: Bool) {
        refusal = reason
        refusedByPeer = byPeer
        _ = waitingForKeys.takeAll()
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
            if !waitingForSocket.append(bytes) {
                counters.drop(.busy, logger: session.member.logger, "UDP datagrams from \(session.peerName) to \(target) dropped: more than \(DatagramQueue.countLimit) arrived before the socket to the target was ready")
            }
            return
        }
        guard let remote = channel.remoteAddress, channel.isActive else { return }  // closing: the flow ends with it
        guard channel.isWritable else {
            return counters.drop(.busy, logger: session.member.logger, "UDP datagrams from \(session.peerName) to \(target) dropped: the socket to the target cannot take more now")
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
        _ = waitingForKeys.takeAll()
        _ = waitingForSocket.takeAll()
        switch end {
        case .forward(let listener, let source): listener.flowEnded(self, source: source)
        case .target(let channel): channel?.close(promise: nil)
        }
    }
}

/// Datagrams held for a moment (no keys yet, no socket yet), bounded in
/// count and bytes. Each is copied to its own size: a datagram as read
/// sits in a 64 KiB buffer, and 64 of those would pin 4 MiB per flow.
struct DatagramQueue {
    static let countLimit = 64
    static let byteLimit = 64 << 10
    private(set) var datagrams: [ByteBuffer] = []
    private var bytes = 0

    var isEmpty: Bool { datagrams.isEmpty }

    mutating func append(_ datagram: ByteBuffer) -> Bool {
        let size = datagram.readableBytes
        guard datagrams.count < Self.countLimit, bytes + size <= Self.byteLimit else { return false }
        var copy = ByteBufferAllocator().buffer(capacity: size)
        copy.writeImmutableBuffer(datagram)
        datagrams.append(copy)
        bytes += size
        return true
    }

    mutating func takeAll() -> [ByteBuffer] {
        defer { datagrams.removeAll(); bytes = 0 }
        return datagrams
    }
}
