import P22PWire

/// The other members of the group, by CID and by name.
struct Roster {
    private var byCID: [CID: Peer] = [:]

    mutating func add(_ peer: Peer) { byCID[peer.cid] = peer }

    mutating func remove(_ cid: CID) -> Peer? { byCID.removeValue(forKey: cid) }

    subscript(cid: CID) -> Peer? { byCID[cid] }

    func find(_ reference: PeerReference) -> Peer? {
        switch reference {
        case .cid(let cid): byCID[cid]
        case .name(let name): byCID.values.first { $0.name == name }
        }
    }

    var all: [Peer] { byCID.values.sorted { $0.cid < $1.cid } }
}
