import NIOConcurrencyHelpers
import P22PCrypto
import P22PWire

/// One group on the relay: its auth verifier and its members by CID and name.
/// Shared by the event loops of all its members, so every access takes the lock;
/// the lock is held only for dictionary operations, never for I/O.
final class RelayGroup: @unchecked Sendable {  // every mutable field is read and written under `lock`
    let name: String
    let verifier: AuthVerifier
    /// The password's salt and cost, handed to joiners in the hello.
    let derivation: KeyDerivation
    /// Creator-only (SCO): members may exchange frames with the creator only.
    let creatorOnly: Bool
    /// The CID of the member who created the group: the first admitted, or
    /// a later session that proved the same member key (see `admit`).
    private var creatorCID: CID?

    var creator: CID? { lock.withLock { creatorCID } }
    private let lock = NIOLock()
    private var members: [CID: MemberLink] = [:]
    private var cidsByName: [String: CID] = [:]
    private var nextCID: UInt16 = 1
    /// Set when the registry dropped this group; a join that looked it up
    /// just before must not be admitted into a group nobody can find.
    private var retired = false

    init(name: String, verifier: AuthVerifier, derivation: KeyDerivation, creatorOnly: Bool = false) {
        self.name = name
        self.verifier = verifier
        self.derivation = derivation
        self.creatorOnly = creatorOnly
    }

    enum AdmitError: Error { case nameInUse, full, retired }

    /// Everyone in the group at one instant. A dictionary, not an array: the
    /// copy is free until the group next changes, so a join stays O(1) under
    /// the lock however large the group.
    typealias Snapshot = [CID: MemberLink]

    /// Adds a member under a fresh CID and returns it with the group as it is
    /// now (including it). CIDs are handed out round-robin so a CID that just
    /// left is not reused at once and confused with its successor.
    /// A member whose name is taken by a link with the same `memberKey`
    /// (which the caller checked was proven over a fresh challenge) replaces
    /// that stale link, which is returned so it can be closed; the creator
    /// role moves with it, so the role follows the key, never a CID.
    func admit(name: String, memberKey: [UInt8], limit: Int,
               makeLink: (CID) -> MemberLink) throws(AdmitError) -> (MemberLink, Snapshot, replaced: MemberLink?) {
        lock.lock()
        defer { lock.unlock() }
        guard !retired else { throw .retired }
        var replaced: MemberLink?
        if let taken = cidsByName[name] {
            guard let stale = members[taken], stale.memberKey == memberKey else { throw .nameInUse }
            members.removeValue(forKey: taken)
            cidsByName.removeValue(forKey: name)
            replaced = stale
        }
        guard members.count < min(limit, Limits.maxMembersPerGroup) else { throw .full }
        var cid = CID(nextCID)
        while members[cid] != nil || cid.rawValue == 0 {
            cid = CID(cid.rawValue &+ 1)
        }
        nextCID = cid.rawValue &+ 1
        let link = makeLink(cid)
        if creatorCID == nil || (replaced != nil && replaced?.cid == creatorCID) { creatorCID = cid }
        members[cid] = link
        cidsByName[name] = cid
        return (link, members, replaced)
    }

    /// Removes a member; returns the members left to tell, or nil if it was
    /// no longer here (already replaced), so nobody is told twice.
    func remove(_ cid: CID) -> Snapshot? {
        lock.withLock {
            guard let link = members.removeValue(forKey: cid) else { return nil }
            cidsByName.removeValue(forKey: link.name)
            return members
        }
    }

    func member(_ cid: CID) -> MemberLink? {
        lock.withLock { members[cid] }
    }

    var count: Int { lock.withLock { members.count } }

    /// Retires the group if it has no members; true if it did.
    func retireIfEmpty() -> Bool {
        lock.withLock {
            if members.isEmpty { retired = true }
            return retired
        }
    }
}
