import NIOCore
import P22PWire

/// A member of the group as this client sees it.
public struct Peer: Hashable, Sendable, CustomStringConvertible {
    public var cid: CID
    public var name: String

    public init(cid: CID, name: String) {
        self.cid = cid
        self.name = name
    }

    public var description: String { "\(name) (CID \(cid))" }
}

/// What happened, for programs that embed the client (tests, the daemon).
/// The same facts are also logged in words.
public enum MemberEvent: Sendable, Equatable {
    case joined(Peer, group: String, created: Bool)
    case peerJoined(Peer)
    case peerLeft(Peer, reason: String)
    case forwardListening(ForwardSpec, port: Int)
    case streamRefused(peer: String, target: TargetAddress, reason: String)
    case streamReset(peer: String, target: TargetAddress, reason: String)
    case disconnected(reason: String)
}

/// A peer and whether an end-to-end session with it is up.
public struct PeerStatus: Sendable, Equatable {
    public var peer: Peer
    public var sessionUp: Bool
    /// The last end-to-end ping's round trip, if there was one.
    public var lastRoundTrip: TimeAmount?

    public init(peer: Peer, sessionUp: Bool, lastRoundTrip: TimeAmount? = nil) {
        self.peer = peer
        self.sessionUp = sessionUp
        self.lastRoundTrip = lastRoundTrip
    }
}

/// One open stream, as `list` shows it.
public struct StreamInfo: Sendable, Equatable {
    public var id: UInt32
    public var peer: String
    public var target: TargetAddress
    /// True when a local connection of ours opened it (a forward); false when
    /// the peer opened a target on our machine.
    public var outgoing: Bool
    public var bytesIn: Int
    public var bytesOut: Int
    public var age: TimeAmount
}

/// One UDP flow, for `list`.
public struct FlowInfo: Sendable, Equatable {
    public var id: UInt32
    public var peer: String
    public var target: TargetAddress
    /// True on the forward's side (a local program sends); false when the
    /// peer's program sends to a target on our machine.
    public var outgoing: Bool
    /// The local program's address, or the peer's name.
    public var origin: String
    /// For the whole forward on the forward's side; for this flow on the target's.
    public var stats: DatagramStats
    public var age: TimeAmount
    public var idle: TimeAmount
}
