import Synchronization

/// What one TCP forward carried, summed over its connections: written by its
/// streams on their event loop, read from any thread (the status page).
public final class ForwardCounters: Sendable {
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)
    private let openNow = Atomic<Int>(0)
    private let opened = Atomic<Int>(0)

    public init() {}

    func connectionOpened() {
        openNow.add(1, ordering: .relaxed)
        opened.add(1, ordering: .relaxed)
    }

    func connectionClosed() { openNow.subtract(1, ordering: .relaxed) }

    /// From the peer, written to the local program.
    func received(_ count: Int) { bytesIn.add(count, ordering: .relaxed) }

    /// From the local program, toward the peer.
    func sent(_ count: Int) { bytesOut.add(count, ordering: .relaxed) }

    public var traffic: ForwardTraffic {
        ForwardTraffic(bytesIn: bytesIn.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed),
                       open: openNow.load(ordering: .relaxed), opened: opened.load(ordering: .relaxed))
    }
}

/// A forward's figures at one moment.
public struct ForwardTraffic: Sendable, Equatable {
    /// Bytes from the peer to the local programs.
    public var bytesIn: Int
    /// Bytes from the local programs to the peer.
    public var bytesOut: Int
    /// Connections open now.
    public var open: Int
    /// Connections since the forward started.
    public var opened: Int

    public init(bytesIn: Int = 0, bytesOut: Int = 0, open: Int = 0, opened: Int = 0) {
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.open = open
        self.opened = opened
    }
}
