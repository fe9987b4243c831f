import P22PClient

/// A `p22p-up` profile: what to connect to, which groups to be in, and which
/// forwards to keep alive. Plain values; `ProfileParser` builds them from YAML
/// and checks everything before anything connects.
public struct Profile: Equatable, Sendable {
    public var server: ServerURL
    public var name: String
    public var tls: TLSSettings
    public var reconnect: ReconnectPolicy
    public var log: LogSettings
    /// An embedded relay run in the same process, if any.
    public var relay: RelaySettings?
    public var groups: [GroupProfile]
}

public struct TLSSettings: Equatable, Sendable {
    public var caFile: String?
    /// SHA-256 of the relay certificate (DER) that must be presented.
    public var pinSHA256: [UInt8]?
}

public struct ReconnectPolicy: Equatable, Sendable {
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// A link that stayed up this long resets the backoff to `initialDelay`.
    public var stablePeriod: Duration

    public init(initialDelay: Duration, maxDelay: Duration, stablePeriod: Duration) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.stablePeriod = stablePeriod
    }

    public static let standard = ReconnectPolicy(initialDelay: .milliseconds(500), maxDelay: .seconds(30), stablePeriod: .seconds(60))
}

public struct LogSettings: Equatable, Sendable {
    public enum Target: String, Sendable, CaseIterable { case stdout, journal }
    public enum Format: String, Sendable, CaseIterable { case text, json }

    public var target: Target
    public var level: String
    public var format: Format

    public static let standard = LogSettings(target: .stdout, level: "info", format: .text)
}

public struct RelaySettings: Equatable, Sendable {
    public var listen: TargetAddress
}

public struct GroupProfile: Equatable, Sendable {
    public enum CreateMode: String, Sendable, CaseIterable {
        /// Join; create the group if it does not exist.
        case auto
        case always
        case never
    }

    public enum PasswordSource: Equatable, Sendable {
        case file(String)
        case environment(String)
        case inline(String)
    }

    public var name: String
    /// This machine's member name in this group, when it differs from the
    /// profile's `name` (one process can then play two members, as the
    /// quick start does).
    public var member: String?
    public var password: PasswordSource
    public var create: CreateMode
    public var reservation: String?
    public var allow: AllowList
    public var forwards: [ForwardSpec]
    /// Overrides the profile's `server` for this group.
    public var server: ServerURL?
}
