/// Per-stream flow control for one direction pair, as a value: how much we may
/// still send, and how much the peer may still send us before it has to wait
/// for credit. Like SSH channel windows: the receiver grants credit only once
/// bytes have left its buffers, so a reader that stops stalls only its stream.
public struct StreamWindow: Sendable, Equatable {
    /// Bytes we may send before the peer grants more.
    public private(set) var sendCredit: Int
    /// Bytes the peer may still send us.
    public private(set) var receiveRemaining: Int
    /// Bytes counted as delivered locally but not yet granted back to the peer.
    public private(set) var pendingGrant: Int
    public let receiveWindow: Int

    public init(receiveWindow: Int, sendCredit: Int = 0) {
        self.receiveWindow = receiveWindow
        self.receiveRemaining = receiveWindow
        self.sendCredit = sendCredit
        self.pendingGrant = 0
    }

    public enum Violation: Error, Equatable {
        case peerExceededWindow(sent: Int, allowed: Int)
        case creditOverflow
    }

    /// The peer granted us `increment` more bytes.
    public mutating func granted(_ increment: Int) throws(Violation) {
        guard increment >= 0, sendCredit + increment <= Int(UInt32.max) else { throw .creditOverflow }
        sendCredit += increment
    }

    /// After a resumption: the peer says how much we may still send.
    public mutating func resetSendCredit(to credit: Int) {
        sendCredit = credit
    }

    /// We are about to send `count` bytes; the caller checked `sendCredit`.
    public mutating func sent(_ count: Int) {
        precondition(count <= sendCredit, "sent beyond credit")
        sendCredit -= count
    }

    /// The peer sent us `count` bytes.
    public mutating func received(_ count: Int) throws(Violation) {
        guard count <= receiveRemaining else { throw .peerExceededWindow(sent: count, allowed: receiveRemaining) }
        receiveRemaining -= count
    }

    /// Delivered bytes worth a grant of their own.
    public var grantThreshold: Int { max(1, receiveWindow / 4) }

    /// Whether delivering `count` more bytes would make a grant due; until
    /// then, nobody needs to know when a delivery completes.
    public func grantDue(afterDelivering count: Int) -> Bool {
        pendingGrant + count >= grantThreshold
    }

    /// `count` received bytes have been delivered to the local socket. Returns
    /// the credit to grant now, if enough has accumulated to be worth a frame
    /// (a quarter of the window, so the sender never runs dry on a fast path).
    public mutating func delivered(_ count: Int) -> Int? {
        pendingGrant += count
        guard pendingGrant >= grantThreshold else { return nil }
        let grant = pendingGrant
        pendingGrant = 0
        receiveRemaining += grant
        return grant
    }
}
