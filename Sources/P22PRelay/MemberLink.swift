import NIOConcurrencyHelpers
import NIOCore
import P22PWire
import Synchronization

/// A joined member as the routing table sees it: where to write frames for it,
/// and how much is queued toward it. Written to from every member's event
/// loop; its channel does the hop to its own loop.
///
/// Everything written to a member goes through `deliver`, relayed frames and
/// the relay's own messages alike, so what is queued toward a member that
/// does not read is always counted and bounded.
final class MemberLink: @unchecked Sendable {
    let cid: CID
    let name: String
    let instance: [UInt8]
    let channel: Channel
    /// Only touched on `channel.eventLoop`.
    weak var connection: RelayConnectionHandler?
    private let configuration: RelayConfiguration
    private let stats: RelayStats

    private let buffered = Atomic<Int>(0)
    private let hasWaiters = Atomic<Bool>(false)
    private let waitersLock = NIOLock()
    private var waiters: [MemberLink] = []

    init(cid: CID, name: String, instance: [UInt8] = [], channel: Channel, connection: RelayConnectionHandler?,
         configuration: RelayConfiguration, stats: RelayStats) {
        self.cid = cid
        self.name = name
        self.instance = instance
        self.channel = channel
        self.connection = connection
        self.configuration = configuration
        self.stats = stats
    }

    var bufferedBytes: Int { buffered.load(ordering: .relaxed) }

    /// Queues a frame toward this member; called on the sender's loop. When
    /// the queue is over its high-water mark, `pausing` (the member whose
    /// frame this is) stops being read until the queue drains. A member over
    /// its hard bound is disconnected and the frame dropped.
    func deliver(_ frame: ByteBuffer, pausing source: MemberLink?, relayed: Bool = true) {
        let size = frame.readableBytes
        let total = buffered.add(size, ordering: .relaxed).newValue
        stats.queued(size, relayed: relayed)
        if total > configuration.maxBufferedPerMember {
            drained(size)
            disconnect(reason: "not reading: \(total) bytes queued toward it, limit \(configuration.maxBufferedPerMember)")
            return
        }
        channel.writeAndFlush(frame).whenComplete { _ in self.drained(size) }
        if total > configuration.pauseAbove, let source {
            source.connection?.pauseReading(until: self)
        }
    }

    /// The relay's own message to this member (roster changes, refusals).
    func send(_ message: ControlMessage) {
        deliver(Frame.control(message).encoded(allocator: channel.allocator), pausing: nil, relayed: false)
    }

    private func drained(_ size: Int) {
        let now = buffered.subtract(size, ordering: .relaxed).newValue
        stats.delivered(size)
        if now <= configuration.resumeBelow, hasWaiters.load(ordering: .relaxed) { wakeWaiters() }
    }

    /// Registers a paused sender, to be resumed once this member has drained.
    func addWaiter(_ source: MemberLink) {
        waitersLock.withLock {
            waiters.append(source)
            hasWaiters.store(true, ordering: .relaxed)
        }
        // Re-check after registering: a drain between the caller's check and
        // the append would otherwise never wake it.
        if buffered.load(ordering: .relaxed) <= configuration.resumeBelow {
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

    func disconnect(reason: String) {
        channel.eventLoop.execute { self.connection?.disconnect(reason: reason) }
    }
}
