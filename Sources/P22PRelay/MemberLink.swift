import NIOConcurrencyHelpers
import NIOCore
import P22PWire
import Synchronization

/// A joined member as the routing table sees it: where to write frames for it,
/// and how much is queued toward it. Written to from every member's event
/// loop; its channel does the hop to its own loop.
final class MemberLink: @unchecked Sendable {
    let cid: CID
    let name: String
    let channel: Channel
    /// Only touched on `channel.eventLoop`.
    weak var connection: RelayConnectionHandler?

    private let buffered = Atomic<Int>(0)
    private let hasWaiters = Atomic<Bool>(false)
    private let waitersLock = NIOLock()
    private var waiters: [MemberLink] = []

    init(cid: CID, name: String, channel: Channel, connection: RelayConnectionHandler?) {
        self.cid = cid
        self.name = name
        self.channel = channel
        self.connection = connection
    }

    var bufferedBytes: Int { buffered.load(ordering: .relaxed) }

    /// Queues a relayed frame toward this member. Called on the sender's loop.
    /// A member over its hard bound is disconnected and the frame dropped.
    func deliver(_ frame: ByteBuffer, from source: MemberLink, configuration: RelayConfiguration, stats: RelayStats,
                 relayed: Bool = true) {
        let size = frame.readableBytes
        let total = buffered.add(size, ordering: .relaxed).newValue
        stats.queued(size, relayed: relayed)
        if total > configuration.maxBufferedPerMember {
            drained(size, configuration: configuration, stats: stats)
            disconnect(reason: "not reading: \(total) bytes queued toward it, limit \(configuration.maxBufferedPerMember)")
            return
        }
        channel.writeAndFlush(frame).whenComplete { _ in
            self.drained(size, configuration: configuration, stats: stats)
        }
        if total > configuration.pauseAbove {
            source.connection?.pauseReading(until: self, configuration: configuration)
        }
    }

    private func drained(_ size: Int, configuration: RelayConfiguration, stats: RelayStats) {
        let now = buffered.subtract(size, ordering: .relaxed).newValue
        stats.delivered(size)
        if now <= configuration.resumeBelow, hasWaiters.load(ordering: .relaxed) { wakeWaiters() }
    }

    /// Registers a paused sender, to be resumed once this member has drained.
    func addWaiter(_ source: MemberLink, configuration: RelayConfiguration) {
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

    func send(_ message: ControlMessage) {
        channel.writeAndFlush(Frame.control(message).encoded(allocator: channel.allocator), promise: nil)
    }

    func disconnect(reason: String) {
        channel.eventLoop.execute { self.connection?.disconnect(reason: reason) }
    }
}
