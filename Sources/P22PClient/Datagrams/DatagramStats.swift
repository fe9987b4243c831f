import Logging
import NIOCore

/// What one UDP forward (or one flow on the target's side) carried and
/// dropped. "To peer" is toward the other member, "from peer" is what it sent.
public struct DatagramStats: Sendable, Equatable {
    public var datagramsToPeer = 0
    public var bytesToPeer = 0
    public var datagramsFromPeer = 0
    public var bytesFromPeer = 0
    /// Larger than a frame of the relay holds (never split).
    public var droppedTooBig = 0
    /// The link, or the local socket, was full: UDP is dropped, never queued without bound.
    public var droppedBusy = 0
    /// No link, or the peer was not in the group.
    public var droppedNoPeer = 0
    /// The peer does not allow the target, or does not prove the pinned key.
    public var droppedRefused = 0
    /// Flows open right now.
    public var flows = 0
    /// Flows since the forward started.
    public var flowsOpened = 0

    public init() {}

    public var dropped: Int { droppedTooBig + droppedBusy + droppedNoPeer + droppedRefused }

    /// "12 too big, 3 link busy", or "none".
    public var droppedDescription: String {
        let parts = [(droppedTooBig, "too big"), (droppedBusy, "link busy"), (droppedNoPeer, "no peer"), (droppedRefused, "refused")]
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}

/// Why a datagram was dropped.
enum DatagramDrop: Hashable {
    case tooBig, busy, noPeer, refused
}

/// The counters of one UDP forward or target flow, and the log lines about
/// drops: the first of each kind at once, then at most one a minute with
/// the count, so a flood of drops does not flood the log.
final class DatagramCounters {
    var stats = DatagramStats()
    private var lastReported: [DatagramDrop: NIODeadline] = [:]
    static let reportInterval = TimeAmount.minutes(1)

    func sent(_ count: Int) {
        stats.datagramsToPeer += 1
        stats.bytesToPeer += count
        DatagramMetrics.datagramsToPeer.increment()
        DatagramMetrics.bytesToPeer.increment(by: count)
    }

    func received(_ count: Int) {
        stats.datagramsFromPeer += 1
        stats.bytesFromPeer += count
        DatagramMetrics.datagramsFromPeer.increment()
        DatagramMetrics.bytesFromPeer.increment(by: count)
    }

    func flowOpened() {
        stats.flows += 1
        stats.flowsOpened += 1
        DatagramMetrics.flows.increment()
    }

    func flowEnded() {
        stats.flows -= 1
        DatagramMetrics.flows.decrement()
    }

    /// Counts a drop; logs `why` (a sentence) unless a drop of this kind was logged within the last minute.
    func drop(_ kind: DatagramDrop, logger: Logger, _ why: @autoclosure () -> String) {
        switch kind {
        case .tooBig: stats.droppedTooBig += 1
        case .busy: stats.droppedBusy += 1
        case .noPeer: stats.droppedNoPeer += 1
        case .refused: stats.droppedRefused += 1
        }
        DatagramMetrics.dropped(kind).increment()
        let now = NIODeadline.now()
        if let last = lastReported[kind], now - last < Self.reportInterval { return }
        lastReported[kind] = now
        logger.warning("\(why()) (\(stats.dropped) UDP datagram(s) dropped so far: \(stats.droppedDescription))")
    }
}
