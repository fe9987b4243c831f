import NIOCore

/// Messages between a member and the relay itself (never end-to-end).
public enum ControlMessage: Equatable, Sendable {
    // relay → member
    /// First message on every connection: the relay's version and a fresh
    /// challenge that the member signs to prove it knows the group password.
    /// `maxFrameSize` is the largest WebSocket message the relay accepts, so
    /// members size their data frames to fit.
    case hello(version: UInt8, challenge: [UInt8], maxFrameSize: Int)
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
    /// group's routing path, before any create or join).
    case reserve(group: String, creatorOnly: Bool)
    /// Renew a reservation while it is valid.
    case extend(key: [UInt8])

    public static let challengeSize = 32
    /// Reservation key files are small JSON documents.
    public static let maxKeyBytes = 2048
}

/// `create` and `join` carry the same fields; `create` adds the public key the
/// relay keeps to check later joins.
public struct AuthRequest: Equatable, Sendable {
    public var version: UInt8
    public var group: String
    public var name: String
    /// Ed25519 public key derived from the password; only sent by `create`.
    public var authPublicKey: [UInt8]?
    /// Ed25519 signature over `AuthTranscript` for the relay's challenge.
    public var signature: [UInt8]
    /// The reservation key file for creating a `#` group; empty otherwise.
    public var reservation: [UInt8]
    /// Random per client process. A join under a name that is still taken by
    /// a session with the same instance replaces that (stale) session, so a
    /// member that reconnects before the relay noticed its old link died
    /// keeps its name; anyone else gets "name in use".
    public var instance: [UInt8]

    public init(version: UInt8 = ProtocolVersion.current, group: String, name: String, authPublicKey: [UInt8]?,
                signature: [UInt8], instance: [UInt8] = Array(repeating: 0, count: AuthRequest.instanceSize),
                reservation: [UInt8] = []) {
        self.reservation = reservation
        self.version = version
        self.group = group
        self.name = name
        self.authPublicKey = authPublicKey
        self.signature = signature
        self.instance = instance
    }

    public static let publicKeySize = 32
    public static let signatureSize = 64
    public static let instanceSize = 16
}

/// What a member signs to create or join, so a captured signature is useless
/// for another challenge, operation, group or name.
public enum AuthTranscript {
    public static func bytes(challenge: [UInt8], create: Bool, group: String, name: String) -> [UInt8] {
        var out = Array("p22p-auth-v1".utf8)
        out += challenge
        out.append(create ? 1 : 2)
        out.append(UInt8(group.utf8.count))
        out += Array(group.utf8)
        out.append(UInt8(name.utf8.count))
        out += Array(name.utf8)
        return out
    }
}
