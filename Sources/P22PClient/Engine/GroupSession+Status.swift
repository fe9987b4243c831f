import Foundation
import NIOCore

/// A group session at one moment: what the status page, `p22p-up status` and
/// the command loop's `list` show.
public struct GroupSessionStatus: Sendable {
    /// The link, in the words the status page uses.
    public enum Link: String, Sendable, Codable {
        case connecting
        case joined
        case reconnecting = "waiting to reconnect"
        case waitingForCreator = "waiting for the group's creator"
        case stopped
    }

    public var group: String
    public var link: Link
    /// When the link came into its current state.
    public var since: Date
    /// Why the link last failed or broke, if it ever did.
    public var lastError: String?
    /// The relay this session uses now.
    public var relay: String
    /// Our name in the group, joined or not.
    public var memberName: String
    /// Our name and CID while joined.
    public var member: Peer?
    public var peers: [PeerStatus]
    public var forwards: [ForwardStatus]
}

/// One forward at one moment.
public struct ForwardStatus: Sendable {
    public enum State: String, Sendable, Codable {
        case listening
        case waitingForLink = "waiting for link"
        case waitingForPeer = "waiting for peer"
    }

    public var spec: ForwardSpec
    /// The port it listens on (the one bound, with port 0).
    public var port: Int
    public var state: State
    /// TCP forwards: bytes and connections.
    public var traffic: ForwardTraffic
    /// UDP forwards: datagrams carried and dropped.
    public var datagrams: DatagramStats?
}

extension GroupSession {
    /// Where this session stands now.
    public func status() -> EventLoopFuture<GroupSessionStatus> {
        let peers = withMember { $0.peerStatus() }.recover { _ in [] }
        return peers.flatMap { peers in
            self.eventLoop.submit { self.snapshot(peers: peers) }
        }
    }

    func counters(for spec: ForwardSpec) -> ForwardCounters {
        if let existing = countersBySpec[spec] { return existing }
        let made = ForwardCounters()
        countersBySpec[spec] = made
        return made
    }

    /// The state the page shows, with the time it began.
    func noteLinkState(_ state: LinkStateMachine.State) {
        let now: GroupSessionStatus.Link = switch state {
        case .idle, .connecting, .awaitingWelcome: linkState == .reconnecting ? .reconnecting : .connecting
        case .joined: .joined
        case .backingOff: .reconnecting
        case .waitingForCreator: .waitingForCreator
        case .stopped: .stopped
        }
        guard now != linkState else { return }
        linkState = now
        linkSince = Date()
    }
}
