import NIOCore
import P22PCrypto
import P22PTransport
import P22PWire

/// Everything needed to be one member of one group.
public struct MemberConfiguration: Sendable {
    public enum JoinMode: Sendable, Equatable { case create, join }

    public var server: ServerURL
    public var group: String
    public var name: String
    public var mode: JoinMode
    public var allowList: AllowList
    public var tls: TLSOptions
    public var keepalive: Keepalive
    /// Bytes each stream may have in flight toward us before we grant more.
    public var streamWindow: Int
    public var maxFrameSize: Int
    /// The member's static key: proves its name to peers, and to the relay
    /// that a reconnect may replace its own stale session.
    public var identity: MemberIdentity = MemberConfiguration.processIdentity
    /// The reservation key file, for creating a `#` group. Its creator key is
    /// then this member's identity, the one the relay reserved the name for.
    public var reservation: Reservation?
    /// Password hashing cost to create with, and the least accepted from a
    /// relay when joining.
    public var kdf: KDFParameters = .standard
    /// When each direction of a pair session moves to its next key.
    public var rekey: RekeyPolicy = .standard
    /// How the relay is reached: directly, through a proxy, or as the
    /// environment's proxy variables say (the default, as curl does).
    public var proxy: ProxySetting = .fromEnvironment
    /// A UDP flow with no datagram either way for this long ends: on the
    /// forward's side (the next datagram starts a new flow) and on the
    /// target's (its socket closes).
    public var udpIdleTimeout: TimeAmount = .seconds(60)

    /// One identity per process unless an identity file is given, so every
    /// group a process joins sees the same key.
    public static let processIdentity = MemberIdentity()

    /// The identity this member proves: the reservation's creator key when
    /// it has one, else `identity`.
    public var effectiveIdentity: MemberIdentity { reservation?.creatorIdentity ?? identity }

    public init(
        server: ServerURL = .default, group: String, name: String, mode: JoinMode,
        allowList: AllowList = AllowList(), tls: TLSOptions = TLSOptions(),
        keepalive: Keepalive = .standard, streamWindow: Int = 1 << 20,
        maxFrameSize: Int = Limits.defaultMaxFrameSize
    ) {
        self.server = server
        self.group = group
        self.name = name
        self.mode = mode
        self.allowList = allowList
        self.tls = tls
        self.keepalive = keepalive
        self.streamWindow = streamWindow
        self.maxFrameSize = maxFrameSize
    }
}

/// Each direction of a session changes its key after this much data or this
/// long, whichever comes first, so no key protects more than a bounded
/// amount of traffic and a key taken from memory opens nothing older.
public struct RekeyPolicy: Sendable, Equatable {
    public var bytes: Int
    public var interval: TimeAmount

    public init(bytes: Int, interval: TimeAmount) {
        self.bytes = bytes
        self.interval = interval
    }

    public static let standard = RekeyPolicy(bytes: 1 << 30, interval: .hours(1))
}
