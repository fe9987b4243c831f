import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import P22PTransport
import P22PWire
import Synchronization

/// A joined member as the routing table sees it: where to write frames for it,
/// and how much is queued toward it. Written to from every member's event
/// loop; its channel does the hop to its own loop.
///
/// Everything written to a member goes through `deliver`, relayed frames and
/// the relay's own messages alike, so what is queued toward a member that
/// does not read is always counted and bounded.
final class MemberLink: @unchecked Sendable {  // `buffered` is atomic, `waiters` is under `waitersLock`, `connection` is only touched on `channel.eventLoop`
    let cid: CID
    let name: String
    /// The static key the member proved at admission.
    let memberKey: [UInt8]
    let channel: Channel
    /// How frames to this member are framed: its link is a WebSocket or a
    /// tcp:// / tls:// stream.
    let framer: LinkFramer
    /// Only touched on `channel.eventLoop`.
    weak var connection: RelayConnectionHandler?
    private let configuration: RelayConfiguration
    private let stats: RelayStats

    /// Streams this member opened, for the per-member stream limit.
    let streams = StreamLedger()
    private let buffered = Atomic<Int>(0)
    /// Bytes ever written out to this member; a stall check compares it.
    private let drainedTotal = Atomic<Int>(0)
    private let stallCheckPending = Atomic<Bool>(false)
    private let hasWaiters = Atomic<Bool>(false)
    private let waitersLock = NIOLock()
    private var waiters: [MemberLink] = []

    init(cid: CID, name: String, memberKey: [UInt8] = [], channel: Channel, framer: LinkFramer, connection: RelayConnectionHandler?,
         configuration: RelayConfiguration, stats: RelayStats) {
        self.cid = cid
        self.name = name
        self.memberKey = memberKey
        self.channel = channel
        self.framer = framer
        self.connection = connection
        self.configuration = configuration
        self.stats = stats
    }

    var bufferedBytes: Int { buffered.load(ordering: .relaxed) }

    /// What one queued frame costs beyond its bytes (buffers, pending-write
    /// entry, future): counted so that floods of tiny frames hit the bounds too.
    static let perFrameOverhead = 256

    /// Queues a frame toward this member; called on the sender's loop. When
    /// the queue is over its high-water mark, `pausing` (the member whose
    /// frame this is) stops being read until the queue drains. A member over
    /// its hard bound is disconnected and the frame dropped.
    /// `frame` is framed for this member's link; a `body` is written right after it
    /// as the rest of the same message.
    func deliver(_ frame: ByteBuffer, body: ByteBuffer? = nil, pausing source: MemberLink?, relayed: Bool = true) {
        let size = frame.readableBytes + (body?.readableBytes ?? 0) + Self.perFrameOverhead
        let total = buffered.add(size, ordering: .sequentiallyConsistent).newValue
        let everyone = stats.queued(size, relayed: relayed)
        if total > configuration.maxBufferedPerMember {
            drained(size)
            disconnect(reason: "not reading: \(total) bytes queued toward it, limit \(configuration.maxBufferedPerMember)", abruptly: true)
            return
        }
        // Many slow readers, each under its own bound, must not add up to
        // more memory than the relay has: over the global cap, a member with
        // a real backlog of its own goes, and members that keep up stay.
        if everyone > configuration.maxBufferedTotal, total > configuration.resumeBelow {
            drained(size)
            disconnect(reason: "not reading while the relay is short of memory: \(total) bytes queued toward it, \(everyone) toward all members, limit \(configuration.maxBufferedTotal) (--max-buffered-total)", abruptly: true)
            return
        }
        let channel = self.channel
        let write: @Sendable () -> Void = {
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { _ in self.drained(size) }
            if let body {
                channel.write(frame, promise: nil)
                channel.writeAndFlush(body, promise: written)
            } else {
                channel.writeAndFlush(frame, promise: written)
            }
        }
        // One hop to the member's loop for both parts, not one per write.
        if channel.eventLoop.inEventLoop { write() } else { channel.eventLoop.execute(write) }
        if total > configuration.pauseAbove, let source {
            source.connection?.pauseReading(until: self)
            watchForStall()
        }
    }

    /// A member that stays above the high-water mark without draining a byte
    /// for `stallTimeout` is not reading: its senders are paused on its
    /// account, so it is disconnected rather than left to hold them up.
    private func watchForStall() {
        guard stallCheckPending.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let before = drainedTotal.load(ordering: .relaxed)
        channel.eventLoop.scheduleTask(in: configuration.stallTimeout) {
            self.stallCheckPending.store(false, ordering: .relaxed)
            let queued = self.buffered.load(ordering: .relaxed)
            guard queued > self.configuration.resumeBelow else { return }
            if self.drainedTotal.load(ordering: .relaxed) == before {
                self.disconnect(reason: "not reading: \(queued) bytes queued toward it and none taken for \(self.configuration.stallTimeout.nanoseconds / 1_000_000_000) s", abruptly: true)
            } else {
                self.watchForStall()
            }
        }
    }

    /// The relay's own message to this member (roster changes, refusals).
    func send(_ message: ControlMessage, pausing source: MemberLink? = nil) {
        deliver(OutgoingFrames.control(message, framer: framer, allocator: channel.allocator), pausing: source, relayed: false)
    }

    private func drained(_ size: Int) {
        // Sequentially consistent with `addWaiter`: each side's store is seen
        // by the other's load, so a paused sender is never left asleep.
        let now = buffered.subtract(size, ordering: .sequentiallyConsistent).newValue
        drainedTotal.add(size, ordering: .relaxed)
        stats.delivered(size)
        if now <= configuration.resumeBelow, hasWaiters.load(ordering: .sequentiallyConsistent) { wakeWaiters() }
    }

    /// Registers a paused sender, to be resumed once this member has drained.
    func addWaiter(_ source: MemberLink) {
        waitersLock.withLock {
            waiters.append(source)
            hasWaiters.store(true, ordering: .sequentiallyConsistent)
        }
        // Re-check after registering: a drain between the caller's check and
        // the append would otherwise never wake it.
        if buffered.load(ordering: .sequentiallyConsistent) <= configuration.resumeBelow {
            wakeWaiters()
        }
    }

    /// Lets every paused sender read again. Also called when this member leaves.
    func wakeWaiters() {
        let woken: [MemberLink] = waitersLock.withLock {
            let list = waiters
            waiters.removeAll()
            hasWaiters.store(false, ordering: .relaxed)
            return list
        }
        for source in woken {
            source.channel.eventLoop.execute { source.connection?.resumeReading() }
        }
    }

    /// `abruptly` closes the TCP connection at once: a member that does not
    /// read would never take a close frame queued behind its backlog.
    func disconnect(reason: String, code: WebSocketErrorCode = .protocolError, abruptly: Bool = false) {
        channel.eventLoop.execute { self.connection?.disconnect(reason: reason, code: code, abruptly: abruptly) }
    }
}
