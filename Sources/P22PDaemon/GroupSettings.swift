import NIOCore
import P22PClient
import P22PProfile
import P22PTransport

/// One group as the daemon runs it: the profile's group merged with the
/// profile-wide settings it inherits. Two settings values that differ only in
/// `forwards` or `allow` can be switched without reconnecting.
struct GroupSettings: Equatable {
    var group: GroupProfile
    var server: ServerURL
    /// Where to go, in order, when `server` cannot be reached.
    var fallbackServers: [ServerURL]
    var name: String
    var tls: TLSOptions
    var keepalive: Keepalive
    var reconnect: ReconnectPolicy
    var resumeTimeout: Duration
    var udpIdleTimeout: Duration
    var proxy: ProxySetting

    init(group: GroupProfile, profile: Profile) {
        self.group = group
        self.server = group.server ?? profile.server
        self.fallbackServers = group.server == nil ? profile.fallbackServers : group.fallbackServers
        self.name = group.member ?? profile.name
        self.tls = profile.tls
        self.keepalive = profile.keepalive
        self.reconnect = profile.reconnect
        self.resumeTimeout = profile.resumeTimeout
        self.udpIdleTimeout = profile.udpIdleTimeout
        self.proxy = group.proxy ?? profile.proxy
    }

    /// What identifies the group across reloads.
    var key: String { "\(server) \(group.name) \(name)" }

    /// True when `other` can be applied to a running session.
    func differsOnlyInForwardsOrAllowList(from other: GroupSettings) -> Bool {
        var mine = self
        mine.group.forwards = other.group.forwards
        mine.group.allow = other.group.allow
        return mine == other
    }

    /// The engine's configuration: the daemon never gives up, and rejoins
    /// after every outage.
    var session: GroupSessionConfiguration {
        let policy: JoinPolicy = switch group.create {
        case .auto: .auto
        case .always: .create
        case .never: .join
        }
        var configuration = GroupSessionConfiguration(server: server, group: group.name, name: name, policy: policy,
                                                      allowList: group.allow, tls: tls, keepalive: keepalive)
        configuration.reconnect = reconnect
        configuration.resumeTimeout = TimeAmount(resumeTimeout)
        configuration.member.proxy = proxy
        configuration.member.udpIdleTimeout = TimeAmount(udpIdleTimeout)
        configuration.fallbackServers = fallbackServers
        configuration.reservationFile = group.reservation
        configuration.forwards = group.forwards
        return configuration
    }
}
