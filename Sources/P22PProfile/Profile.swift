import P22PClient
import P22PTransport

/// A `p22p-up` profile: what to connect to, which groups to be in, and which
/// forwards to keep alive. Plain values; `ProfileParser` builds them from YAML
/// and checks everything before anything connects.
public struct Profile: Equatable, Sendable {
    public var server: ServerURL
    /// Relays to use, in order, when `server` cannot be reached (`server:`
    /// given as a list).
    public var fallbackServers: [ServerURL] = []
    public var name: String
    /// The member's static key file (`identity_file:`), resolved; created if
    /// missing. Without one, each run has a new key.
    public var identityFile: String?
    public var tls: TLSOptions
    public var keepalive: Keepalive
    public var reconnect: ReconnectPolicy
    /// How long open connections wait for a peer (or our link) to come back
    /// before they are reset (`resume_timeout:`); zero resets them at once.
    public var resumeTimeout: Duration = Profile.defaultResumeTimeout
    /// A UDP flow with no datagram either way for this long ends, here and
    /// on the peer (`udp_idle_timeout:`).
    public var udpIdleTimeout: Duration = Profile.defaultUDPIdleTimeout
    /// How relays are reached (`proxy:`): the environment's proxy variables
    /// unless a proxy URL or `none` is given.
    public var proxy: ProxySetting = .fromEnvironment
    public var log: LogSettings
    /// An embedded relay run in the same process, if any.
    public var relay: RelaySettings?
    /// Where this daemon answers about itself (`status: { listen: … }`),
    /// loopback only; off without it.
    public var status: StatusSettings?
    public var groups: [GroupProfile]

    public static let defaultResumeTimeout = Duration.seconds(30)
    public static let defaultUDPIdleTimeout = Duration.seconds(60)
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

/// The daemon's own HTTP endpoint: GET / (the status page), /status.json,
/// /metrics (Prometheus text) and /healthz. Nothing on it asks for a
/// password, so it listens on loopback or on a Unix socket only.
public struct StatusSettings: Equatable, Sendable {
    public enum Listen: Equatable, Sendable, CustomStringConvertible {
        case tcp(TargetAddress)
        /// A Unix socket's path: only who may open it can ask.
        case unix(String)

        public var description: String {
            switch self {
            case .tcp(let address): "\(address)"
            case .unix(let path): path
            }
        }

        /// How a person reaches it: a URL, or curl's way to a socket.
        public var url: String {
            switch self {
            case .tcp(let address): "http://\(address)/"
            case .unix(let path): "http://localhost/ (curl --unix-socket \(path))"
            }
        }
    }

    public var listen: Listen

    public init(listen: Listen) { self.listen = listen }
}

public struct GroupProfile: Equatable, Sendable {
    public enum CreateMode: String, Sendable, CaseIterable {
        /// Join; create the group if it does not exist.
        case auto
        case always
        case never
    }

    public typealias PasswordSource = GroupPassword

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
    /// The rest of this group's `server:` list, if it gives one.
    public var fallbackServers: [ServerURL] = []
    /// Overrides the profile's `proxy` for this group.
    public var proxy: ProxySetting?
}
