import NIOCore

/// Messages between a member and the relay itself (never end-to-end).
public enum ControlMessage: Equatable, Sendable {
    // relay → member
    /// First message on every connection: the relay's version and a fresh
    /// challenge that the member signs to prove it knows the group password.
    /// `maxFrameSize` is the largest WebSocket message the relay accepts, so
    /// members size their data frames to fit. `derivation` is the password
    /// salt and cost of the group the URL path names, nil if that group does
    /// not exist (yet).
    case hello(version: UInt8, challenge: [UInt8], maxFrameSize: Int, derivation: KeyDerivation?)
    case welcome(cid: CID, name: String, created: Bool)
    /// `existing` is true for members that were already in the group when the
    /// receiver joined, so clients can tell the roster from arrivals.
    case memberJoined(cid: CID, name: String, existing: Bool)
    case memberLeft(cid: CID, name: String, reason: String)
    case refused(RefusalCode, message: String)
    /// A relayed frame was not delivered: its destination left, or the
    /// group's rules forbid it (`reason` says which, for the user).
    case undeliverable(cid: CID, reason: String)
    /// The relay refused to open a stream (the member is at its stream limit).
    case streamRefused(cid: CID, stream: UInt32, reason: String)
    /// A signed reservation, in answer to `reserve` or `extend`: the key file's bytes.
    case reservation(key: [UInt8])

    // member → relay
    case create(AuthRequest)
    case join(AuthRequest)
    case leave
    /// Ask for a reservation of a `#` group name (on a connection to that
    /// group's routing path, before any create or join). `creatorKey` is the
    /// static key that alone may create the group; the relay signs it into
    /// the reservation.
    case reserve(group: String, creatorOnly: Bool, creatorKey: [UInt8])
    /// Renew a reservation while it is valid.
    case extend(key: [UInt8])

    public static let challengeSize = 32
    /// Reservation key files are small JSON documents.
    public static let maxKeyBytes = 2048
}

/// `create` and `join` carry the same fields; `create` adds what the relay
/// keeps to check later joins (the auth public key and the password's salt).
public struct AuthRequest: Equatable, Sendable {
    public var version: UInt8
    public var group: String
    public var name: String
    /// The member's static Ed25519 key. A join under a name still held by a
    /// session with the same key replaces that (stale) session, and the
    /// creator role follows this key; both only with `memberSignature`.
    public var memberKey: [UInt8]
    /// Salt and cost of the password hashing; only sent by `create`.
    public var derivation: KeyDerivation?
    /// Ed25519 public key derived from the password; only sent by `create`.
    public var authPublicKey: [UInt8]?
    /// Signature over `AuthTranscript` with the password's auth key: proves
    /// the password for the relay's fresh challenge.
    public var signature: [UInt8]
    /// Signature over the same transcript with the member's static key:
    /// proves the key, so neither can be replayed from a captured request.
    public var memberSignature: [UInt8]
    /// The reservation (its public part) for creating a `#` group; empty otherwise.
    public var reservation: [UInt8]

    public init(version: UInt8 = ProtocolVersion.current, group: String, name: String, memberKey: [UInt8],
                derivation: KeyDerivation? = nil, authPublicKey: [UInt8]? = nil,
                signature: [UInt8] = Array(repeating: 0, count: AuthRequest.signatureSize),
                memberSignature: [UInt8] = Array(repeating: 0, count: AuthRequest.signatureSize),
                reservation: [UInt8] = []) {
        self.version = version
        self.group = group
        self.name = name
        self.memberKey = memberKey
        self.derivation = derivation
        self.authPublicKey = authPublicKey
        self.signature = signature
        self.memberSignature = memberSignature
        self.reservation = reservation
    }

    public var isCreate: Bool { authPublicKey != nil }

    /// What both signatures cover.
    public func transcript(challenge: [UInt8]) -> [UInt8] {
        AuthTranscript.bytes(challenge: challenge, request: self)
    }

    public static let publicKeySize = 32
    public static let signatureSize = 64
}

/// What a member signs to create or join, so a captured signature is useless
/// for another challenge, operation, group, name, member key or salt.
public enum AuthTranscript {
    public static func bytes(challenge: [UInt8], request: AuthRequest) -> [UInt8] {
        var out = Array("p22p-auth-v2".utf8)
        out += challenge
        out.append(request.isCreate ? 1 : 2)
        out.append(UInt8(request.group.utf8.count))
        out += Array(request.group.utf8)
        out.append(UInt8(request.name.utf8.count))
        out += Array(request.name.utf8)
        out += request.memberKey
        if let derivation = request.derivation { out += derivation.encoded }
        if let key = request.authPublicKey { out += key }
        return out
    }
}
