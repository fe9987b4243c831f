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
        /// Where it was accepted, as the log names it (the bound port, also for LOCAL 0).
        let address: String
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
    mutating func add(_ forward: ForwardSpec, address: String, reason: Reason, now: NIODeadline) -> Entry {
        nextID += 1
        let entry = Entry(id: nextID, forward: forward, address: address, since: now, deadline: now + limit, reason: reason)
        entries.append(entry)
        return entry
    }

    /// With the link up: takes out every connection whose peer is here, in
    /// arrival order. Those still waiting learn what they wait for now (the
    /// link came back, but the peer is not there yet).
    mutating func ready(isPresent: (PeerReference) -> Bool) -> [Entry] {
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

    /// Takes out `id` if it still waits: its deadline passed, or its program
    /// gave up first.
    mutating func take(_ id: Int) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return nil }
        return entries.remove(at: index)
    }

    /// The link dropped: whatever each connection waited for, it now waits for the link.
    mutating func linkLost() {
        for index in entries.indices { entries[index].reason = .link }
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
