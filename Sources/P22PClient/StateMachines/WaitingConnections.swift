import NIOCore

/// Local connections that a forward accepted while it could not serve them:
/// the link to the relay was down, or the forward's peer was not in the
/// group. Each waits until both are there, or until its deadline, when it is
/// reset. A value: the session asks it what to do and performs that.
struct WaitingConnections: Equatable {
    /// What a connection is waiting for, in the log's words.
    enum Reason: Equatable, CustomStringConvertible {
        case link
        case peer(PeerReference)

        var description: String {
            switch self {
            case .link: "the link to the relay"
            case .peer(let peer): "peer \(peer)"
            }
        }
    }

    struct Entry: Equatable {
        let id: Int
        let forward: ForwardSpec
        let since: NIODeadline
        let deadline: NIODeadline
        var reason: Reason
    }

    let limit: TimeAmount
    private(set) var entries: [Entry] = []
    private var nextID = 0

    init(limit: TimeAmount) { self.limit = limit }

    var isEmpty: Bool { entries.isEmpty }

    /// Queues a connection; returns its id and when it must be given up.
    mutating func add(_ forward: ForwardSpec, reason: Reason, now: NIODeadline) -> Entry {
        nextID += 1
        let entry = Entry(id: nextID, forward: forward, since: now, deadline: now + limit, reason: reason)
        entries.append(entry)
        return entry
    }

    /// Takes out every connection that can be served now, in arrival order.
    /// Those still waiting learn what they wait for now (the link came back,
    /// but the peer is not there yet).
    mutating func ready(linkUp: Bool, isPresent: (PeerReference) -> Bool) -> [Entry] {
        guard linkUp else { return [] }
        var served: [Entry] = []
        var still: [Entry] = []
        for var entry in entries {
            if isPresent(entry.forward.peer) {
                served.append(entry)
            } else {
                entry.reason = .peer(entry.forward.peer)
                still.append(entry)
            }
        }
        entries = still
        return served
    }

    /// The deadline of `id` passed: takes it out if it is still waiting.
    mutating func expire(_ id: Int) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return nil }
        return entries.remove(at: index)
    }

    /// The local program gave up first, or the forward was removed.
    mutating func remove(_ id: Int) -> Entry? {
        expire(id)
    }

    /// Takes out every connection of `forward` (removed on reload), or all.
    mutating func removeAll(of forward: ForwardSpec? = nil) -> [Entry] {
        let (gone, kept) = entries.reduce(into: ([Entry](), [Entry]())) { result, entry in
            if forward == nil || entry.forward == forward { result.0.append(entry) } else { result.1.append(entry) }
        }
        entries = kept
        return gone
    }
}
