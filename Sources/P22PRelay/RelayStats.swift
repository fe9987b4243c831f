import Synchronization

/// Counters the relay keeps for tests, logs and (later) metrics. Updated from
/// every event loop, hence atomics.
public final class RelayStats: Sendable {
    let buffered = Atomic<Int>(0)
    let peakBuffered = Atomic<Int>(0)
    let framesRelayed = Atomic<Int>(0)
    let bytesRelayed = Atomic<Int>(0)
    let connections = Atomic<Int>(0)
    let metrics = RelayMetrics()

    init() {}

    /// Bytes the relay holds right now on their way to members.
    public var bufferedBytes: Int { buffered.load(ordering: .relaxed) }
    /// The most `bufferedBytes` has ever been.
    public var peakBufferedBytes: Int { peakBuffered.load(ordering: .relaxed) }
    public var relayedFrames: Int { framesRelayed.load(ordering: .relaxed) }
    public var relayedBytes: Int { bytesRelayed.load(ordering: .relaxed) }
    public var openConnections: Int { connections.load(ordering: .relaxed) }

    /// `relayed` is false for the relay's own replies, which count toward
    /// the buffer but not toward traffic between members. Returns the bytes
    /// now queued toward all members together.
    @discardableResult
    func queued(_ bytes: Int, relayed: Bool) -> Int {
        let now = buffered.add(bytes, ordering: .relaxed).newValue
        if relayed {
            framesRelayed.add(1, ordering: .relaxed)
            bytesRelayed.add(bytes, ordering: .relaxed)
            metrics.relayed(bytes: bytes)
        }
        var peak = peakBuffered.load(ordering: .relaxed)
        while now > peak {
            let (exchanged, original) = peakBuffered.compareExchange(expected: peak, desired: now, ordering: .relaxed)
            if exchanged { break }
            peak = original
        }
        return now
    }

    func delivered(_ bytes: Int) {
        buffered.subtract(bytes, ordering: .relaxed)
    }
}
