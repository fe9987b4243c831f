import NIOCore
import P22PTransport

/// Everything a `GroupSession` needs: who to be in which group, how to get
/// in and stay in, and what to forward.
public struct GroupSessionConfiguration: Sendable {
    /// The member to be; its `mode` is chosen per attempt from `policy`.
    public var member: MemberConfiguration
    public var policy: JoinPolicy
    public var reconnect: ReconnectPolicy = .standard
    /// Rejoin after the link drops; false ends the session instead.
    public var keepJoined = true
    /// Fail when the first attempt fails (one-shot commands and the command
    /// loop), instead of retrying as the daemon does.
    public var giveUpBeforeFirstJoin = false
    /// While the group does not exist, wait for its creator even before the
    /// first join (false: report the missing group, as the command loop does).
    public var waitForCreatorAtStart = true
    /// How long a connection accepted while the link or the peer is away
    /// waits before it is reset.
    public var waitLimit: TimeAmount = .seconds(10)
    /// A reservation key file, read again on every attempt so an extended key
    /// is picked up; `member.reservation` is used when this is nil.
    public var reservationFile: String?
    public var forwards: [ForwardSpec] = []
    /// Relays to try, in order, when `member.server` cannot be reached. The
    /// session goes back to an earlier one as soon as it answers again; open
    /// connections follow.
    public var fallbackServers: [ServerURL] = []
    /// How long open connections wait for a peer that dropped off (or for
    /// our own link) to come back before they are reset.
    public var resumeTimeout: TimeAmount = .seconds(30)
    /// How often a session on a fallback relay checks whether an earlier
    /// one answers again.
    public var failbackCheck: TimeAmount = .seconds(5)

    /// Every relay, most preferred first.
    var servers: [ServerURL] { [member.server] + fallbackServers }

    public init(member: MemberConfiguration, policy: JoinPolicy) {
        self.member = member
        self.policy = policy
    }

    public init(server: ServerURL, group: String, name: String, policy: JoinPolicy, allowList: AllowList = AllowList(),
                tls: TLSOptions = TLSOptions(), keepalive: Keepalive = .standard) {
        self.init(member: MemberConfiguration(server: server, group: group, name: name, mode: policy == .create ? .create : .join,
                                              allowList: allowList, tls: tls, keepalive: keepalive),
                  policy: policy)
    }

    var linkOptions: LinkStateMachine.Options {
        LinkStateMachine.Options(policy: effectivePolicy, reconnect: reconnect, keepJoined: keepJoined,
                                 giveUpBeforeFirstJoin: giveUpBeforeFirstJoin, waitForCreatorAtStart: waitForCreatorAtStart)
    }

    /// `auto` without a reservation key cannot create a `#` group: the relay
    /// refuses it as reserved, whether or not it exists. Such a member joins,
    /// and waits for the key's holder to create the group.
    var effectivePolicy: JoinPolicy {
        let reserved = member.group.hasPrefix("#") && reservationFile == nil && member.reservation == nil
        return policy == .auto && reserved ? .join : policy
    }
}
