import P22PClient
import P22PProfile

/// One group as the daemon runs it: the profile's group merged with the
/// profile-wide settings it inherits. Two settings values that differ only in
/// `forwards` or `allow` can be switched without reconnecting.
struct GroupSettings: Equatable {
    var group: GroupProfile
    var server: ServerURL
    var name: String
    var tls: TLSSettings
    var reconnect: ReconnectPolicy

    init(group: GroupProfile, profile: Profile) {
        self.group = group
        self.server = group.server ?? profile.server
        self.name = group.member ?? profile.name
        self.tls = profile.tls
        self.reconnect = profile.reconnect
    }

    /// What identifies the group across reloads.
    var key: String { "\(server) \(group.name) \(name)" }

    /// True when `other` can be applied to a running link.
    func differsOnlyInForwardsOrAllowList(from other: GroupSettings) -> Bool {
        var mine = self
        mine.group.forwards = other.group.forwards
        mine.group.allow = other.group.allow
        return mine == other
    }
}
