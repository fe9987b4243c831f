import NIOCore
import P22PWire

/// How a group session gets into its group.
public enum JoinPolicy: Sendable, Equatable {
    /// Create the group. If it already exists, that is an error the first
    /// time (someone else has that name) unless the session may retry; once we
    /// were in the group, we join whoever re-created it after a relay restart.
    case create
    /// Join. While the group does not exist, wait for a member to create it.
    case join
    /// Join, or create the group if it does not exist.
    case auto
}

/// The link of one group session to the relay, as a value: connecting,
/// awaiting the welcome, joined, backing off, waiting for the group's
/// creator, stopped. Events in, actions out; `GroupSession` performs them.
struct LinkStateMachine {
    enum State: Equatable {
        case idle
        case connecting(MemberConfiguration.JoinMode)
        case awaitingWelcome(MemberConfiguration.JoinMode)
        case joined(since: NIODeadline)
        case backingOff
        case waitingForCreator
        case stopped
    }

    enum Event: Equatable {
        case start
        /// The WebSocket is up; the relay has not admitted us yet.
        case linkUp
        case welcomed(at: NIODeadline)
        /// The attempt failed before the welcome.
        case failed(MemberError)
        case linkLost(reason: String, relayWentAway: Bool, at: NIODeadline)
        case retryDue
        case stop
    }

    enum Action: Equatable {
        case dial(MemberConfiguration.JoinMode)
        /// Try again after `delay`; `reason` says why in the log.
        case scheduleRetry(after: Duration, reason: String, attempt: Int)
        /// The group does not exist; ask again after `delay` without backing
        /// off. `announce` is true the first time, for one log line.
        case waitForCreator(after: Duration, announce: Bool)
        case switchMode(to: MemberConfiguration.JoinMode, reason: String)
        case joined
        case lost(reason: String)
        /// A link that arrived after we stopped: leave at once.
        case discardLink
        case cancelRetry
        case giveUp(MemberError)
    }

    struct Options: Equatable {
        var policy: JoinPolicy
        var reconnect: ReconnectPolicy
        /// Keep the group joined after the link drops (false: `--no-reconnect`).
        var keepJoined = true
        /// Report a failure of the very first attempt instead of retrying, as
        /// one-shot commands do (a wrong password must not loop silently).
        var giveUpBeforeFirstJoin = false
        /// Wait for a creator even before the first join (`p22p join`, the
        /// daemon); the command loop reports a missing group at once instead.
        var waitForCreatorAtStart = true
        var creatorPollInterval: Duration = .seconds(1)
    }

    let options: Options
    private(set) var state = State.idle
    private(set) var everJoined = false
    private var backoff: Backoff
    private var mode: MemberConfiguration.JoinMode

    init(options: Options) {
        self.options = options
        self.backoff = Backoff(policy: options.reconnect)
        self.mode = options.policy == .create ? .create : .join
    }

    var isJoined: Bool {
        if case .joined = state { return true }
        return false
    }

    mutating func handle(_ event: Event) -> [Action] {
        switch (event, state) {
        case (.stop, .stopped):
            return []
        case (.stop, _):
            state = .stopped
            return [.cancelRetry]
        case (.linkUp, .stopped), (.welcomed, .stopped):
            return [.discardLink]
        case (_, .stopped):
            return []

        case (.start, .idle), (.retryDue, .backingOff), (.retryDue, .waitingForCreator):
            return dial()
        case (.linkUp, .connecting(let mode)):
            state = .awaitingWelcome(mode)
            return []
        case (.welcomed(let now), .connecting), (.welcomed(let now), .awaitingWelcome):
            state = .joined(since: now)
            everJoined = true
            wasWaiting = false
            switchesInARow = 0
            if options.policy == .auto { mode = .join }
            return [.joined]
        case (.failed(let error), .connecting(let mode)), (.failed(let error), .awaitingWelcome(let mode)):
            return failed(error, mode: mode)
        case (.linkLost(let reason, let wentAway, let now), .joined(let since)):
            if wentAway || TimeAmount(options.reconnect.stablePeriod) <= now - since { backoff.reset() }
            guard options.keepJoined else {
                state = .stopped
                return [.lost(reason: reason), .giveUp(.disconnected(reason: reason))]
            }
            if options.policy == .create { mode = .create }
            return [.lost(reason: reason)] + backOff("link to the relay lost: \(reason)")
        default:
            // Late or duplicate events (a timer that fired as the state
            // changed) change nothing.
            return []
        }
    }

    private mutating func dial() -> [Action] {
        state = .connecting(mode)
        return [.dial(mode)]
    }

    private mutating func failed(_ error: MemberError, mode tried: MemberConfiguration.JoinMode) -> [Action] {
        let mayRetry = options.keepJoined && (everJoined || !options.giveUpBeforeFirstJoin)
        switch (error, tried, options.policy) {
        case (.refused(.noSuchGroup, _), .join, .auto), (.refused(.noSuchGroup, _), .join, .create):
            return switchMode(to: .create, reason: "does not exist yet; creating it", after: error)
        case (.refused(.noSuchGroup, _), .join, .join) where options.keepJoined && (everJoined || options.waitForCreatorAtStart):
            let announce = !wasWaiting
            wasWaiting = true
            state = .waitingForCreator
            return [.waitForCreator(after: options.creatorPollInterval, announce: announce)]
        case (.refused(.groupExists, _), .create, .auto):
            return switchMode(to: .join, reason: "exists; joining it", after: error)
        case (.refused(.groupExists, _), .create, .create) where mayRetry:
            return switchMode(to: .join, reason: "exists; joining it", after: error)
        default:
            guard mayRetry else {
                state = .stopped
                return [.giveUp(error)]
            }
            if options.policy == .create { mode = .create }
            return backOff("\(error)")
        }
    }

    /// Switching between create and join is immediate twice: two members
    /// that both found the group missing both try to create it, and the one
    /// that lost joins at once (an expected step, not a failure). A third
    /// switch before any welcome (the group keeps coming and going) backs off
    /// instead of spinning between the two.
    private mutating func switchMode(to next: MemberConfiguration.JoinMode, reason: String, after error: MemberError) -> [Action] {
        mode = next
        guard switchesInARow < 2 else { return backOff("\(error)") }
        switchesInARow += 1
        return [.switchMode(to: next, reason: reason)] + dial()
    }

    /// Immediate switches since the last welcome or backoff.
    private var switchesInARow = 0

    /// Set while the group is missing, so a wait that a failed attempt
    /// interrupts is not announced again.
    private var wasWaiting = false

    private mutating func backOff(_ reason: String) -> [Action] {
        wasWaiting = false
        switchesInARow = 0
        state = .backingOff
        let delay = backoff.nextDelay()
        return [.scheduleRetry(after: delay, reason: reason, attempt: backoff.attempt)]
    }
}
