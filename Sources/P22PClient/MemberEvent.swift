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
