import P22PWire

/// Whether a create or join may go ahead, decided from facts the connection
/// gathered (signature checked, path compared, reservation validated): no
/// I/O and no shared state, so every rule has a unit test.
enum Admission {
    /// The standing of the reservation key that came with a request.
    enum ReservationStanding: Equatable {
        /// Not a `#` group.
        case notNeeded
        case missing
        /// Not a key file, or one for another name.
        case unusable
        /// The relay's own verdict: expired, superseded, not signed by it.
        case rejected(String)
        case valid(creatorOnly: Bool)
    }

    /// The signature and the reservation are checked only once every cheap
    /// rule passed, so a flood of bad or rate-limited requests costs no
    /// signature checks: they are asked for through closures.
    struct Request {
        var version: UInt8
        var group: String
        /// The client's IP address, named in a rate-limit refusal.
        var address: String
        var name: String
        var create: Bool
        /// The URL path's routing key is the group's.
        var pathMatches: Bool
        /// A create is signed by its own key; a join by the group's auth key.
        var signed: () -> Bool
        /// The member key is proven by a signature over this connection's
        /// challenge: without it a request may be a replay of one captured
        /// elsewhere, with another member's key.
        var memberKeyProven: () -> Bool = { true }
        /// Joins from this address failed too often lately.
        var rateLimited: Bool
        var groupExists: Bool
        var reservation: () -> ReservationStanding
    }

    enum Decision: Equatable {
        case create(creatorOnly: Bool)
        case join
        /// `failedJoin`: a wrong password, counted against the address.
        case refuse(RefusalCode, String, failedJoin: Bool)
    }

    static func decide(_ request: Request) -> Decision {
        guard request.version == ProtocolVersion.current else {
            return .refuse(.versionMismatch, "this relay speaks protocol version \(ProtocolVersion.current), the client \(request.version)", failedJoin: false)
        }
        do {
            try Names.validateGroup(request.group)
            try Names.validateMember(request.name)
        } catch {
            return .refuse(.invalidRequest, "\(error)", failedJoin: false)
        }
        guard request.pathMatches else {
            return .refuse(.invalidRequest, "the URL path does not match group \(request.group)", failedJoin: false)
        }
        return request.create ? decideCreate(request) : decideJoin(request)
    }

    private static func decideCreate(_ request: Request) -> Decision {
        guard request.signed() else { return .refuse(.invalidRequest, "create request is not signed by its own key", failedJoin: false) }
        guard request.memberKeyProven() else { return .refuse(.invalidRequest, Self.unprovenKey, failedJoin: false) }
        switch request.reservation() {
        case .notNeeded:
            return .create(creatorOnly: false)
        case .missing:
            return .refuse(.reservedName, "group \(request.group) is reserved: create it with its reservation key (--reservation FILE)", failedJoin: false)
        case .unusable:
            return .refuse(.invalidRequest, "the reservation key is not one for \(request.group)", failedJoin: false)
        case .rejected(let why):
            return .refuse(.reservedName, why, failedJoin: false)
        case .valid(let creatorOnly):
            return .create(creatorOnly: creatorOnly)
        }
    }

    private static func decideJoin(_ request: Request) -> Decision {
        guard !request.rateLimited else { return .refuse(.rateLimited, "too many failed joins from \(request.address); wait a minute", failedJoin: false) }
        guard request.groupExists else { return .refuse(.noSuchGroup, "group \(request.group) does not exist; create it first", failedJoin: false) }
        guard request.signed() else { return .refuse(.wrongPassword, "wrong password for group \(request.group)", failedJoin: true) }
        // Only someone with the password gets here: a forged key is counted
        // against the address like a wrong password.
        guard request.memberKeyProven() else { return .refuse(.invalidRequest, Self.unprovenKey, failedJoin: true) }
        return .join
    }

    static let unprovenKey = "the request does not prove its member key for this connection's challenge (replayed or forged)"

    /// Why the registry would not create a group.
    static func refusal(_ error: GroupRegistry.CreateError, group: String, maxGroups: Int) -> (RefusalCode, String) {
        switch error {
        case .exists: (.groupExists, "group \(group) already exists; join it instead")
        case .tooMany: (.tooManyGroups, "this relay holds its maximum of \(maxGroups) groups")
        }
    }

    /// Why a group would not take a member.
    static func refusal(_ error: RelayGroup.AdmitError, group: String, name: String) -> (RefusalCode, String) {
        switch error {
        case .nameInUse: (.nameInUse, "name \(name) is already used in group \(group); pick another with --name")
        case .full: (.groupFull, "group \(group) is full")
        case .retired: (.noSuchGroup, "group \(group) ended just now; create it again")
        }
    }
}
