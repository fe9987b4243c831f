import NIOCore
@testable import P22PClient
import P22PWire
import XCTest

/// The link of a group session: every state, the events valid in it, and
/// the late ones that must change nothing.
final class LinkStateMachineTests: XCTestCase {
    private let policy = ReconnectPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(1), stablePeriod: .seconds(60))
    private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func machine(_ join: JoinPolicy, _ configure: (inout LinkStateMachine.Options) -> Void = { _ in }) -> LinkStateMachine {
        var options = LinkStateMachine.Options(policy: join, reconnect: policy)
        configure(&options)
        return LinkStateMachine(options: options)
    }

    private func joined(_ join: JoinPolicy, _ configure: (inout LinkStateMachine.Options) -> Void = { _ in }) -> LinkStateMachine {
        var link = machine(join, configure)
        _ = link.handle(.start)
        _ = link.handle(.linkUp)
        XCTAssertEqual(link.handle(.welcomed(at: t0)), [.joined])
        return link
    }

    private func retryDelay(_ actions: [LinkStateMachine.Action]) -> Duration? {
        for case .scheduleRetry(let delay, _, _) in actions { return delay }
        return nil
    }

    func testConnectingAwaitingWelcomeJoined() {
        var link = machine(.auto)
        XCTAssertEqual(link.state, .idle)
        XCTAssertEqual(link.handle(.start), [.dial(.join)])
        XCTAssertEqual(link.state, .connecting(.join))
        XCTAssertEqual(link.handle(.linkUp), [])
        XCTAssertEqual(link.state, .awaitingWelcome(.join))
        XCTAssertEqual(link.handle(.welcomed(at: t0)), [.joined])
        XCTAssertTrue(link.isJoined)
    }

    func testAutoCreatesAMissingGroupAndJoinsAnExistingOne() {
        var link = machine(.auto)
        _ = link.handle(.start)
        XCTAssertEqual(link.handle(.failed(.refused(.noSuchGroup, message: "no"))),
                       [.switchMode(to: .create, reason: "does not exist yet; creating it"), .dial(.create)])
        XCTAssertEqual(link.handle(.welcomed(at: t0)), [.joined])

        var creating = machine(.auto)
        _ = creating.handle(.start)
        _ = creating.handle(.failed(.refused(.noSuchGroup, message: "no")))
        _ = creating.handle(.welcomed(at: t0))
        _ = creating.handle(.linkLost(reason: "x", relayWentAway: true, at: t0))
        _ = creating.handle(.retryDue)
        XCTAssertEqual(creating.state, .connecting(.join), "once in, auto joins first")
    }

    func testAGroupThatComesAndGoesDoesNotMakeItSpin() {
        var link = machine(.auto)
        _ = link.handle(.start)
        let missing = MemberError.refused(.noSuchGroup, message: "no")
        let exists = MemberError.refused(.groupExists, message: "exists")
        XCTAssertEqual(link.handle(.failed(missing)).last, .dial(.create))
        // Another member created it meanwhile: joining is an expected step, at once.
        XCTAssertEqual(link.handle(.failed(exists)), [.switchMode(to: .join, reason: "exists; joining it"), .dial(.join)])
        let third = link.handle(.failed(missing))
        XCTAssertNotNil(retryDelay(third), "a third switch in a row backs off: \(third)")
        XCTAssertEqual(link.state, .backingOff)
        XCTAssertEqual(link.handle(.retryDue), [.dial(.create)], "it tries the other way next")
        XCTAssertEqual(link.handle(.failed(exists)).last, .dial(.join), "after a backoff, switches are immediate again")
    }

    /// A member without the key of a reserved `#` group cannot create it:
    /// under `auto` it joins, and waits for the holder to create it.
    func testAutoWithoutAReservationKeyOnlyJoinsAReservedGroup() throws {
        let server = try ServerURL(parsing: "ws://127.0.0.1:39453")
        var configuration = GroupSessionConfiguration(server: server, group: "#club", name: "guest", policy: .auto)
        XCTAssertEqual(configuration.linkOptions.policy, .join)
        configuration.reservationFile = "club.key"
        XCTAssertEqual(configuration.linkOptions.policy, .auto, "the holder creates it when it is missing")
        XCTAssertEqual(GroupSessionConfiguration(server: server, group: "club", name: "guest", policy: .auto).linkOptions.policy, .auto)
        XCTAssertEqual(GroupSessionConfiguration(server: server, group: "#club", name: "guest", policy: .create).linkOptions.policy, .create,
                       "an explicit create is tried, and its refusal reported")
    }

    func testJoinModeWaitsForTheCreatorWithoutBackingOff() {
        var link = machine(.join)
        _ = link.handle(.start)
        XCTAssertEqual(link.handle(.failed(.refused(.noSuchGroup, message: "no"))), [.waitForCreator(after: .seconds(1), announce: true)])
        XCTAssertEqual(link.state, .waitingForCreator)
        // Every later poll: same short interval, announced once.
        for _ in 0..<20 {
            XCTAssertEqual(link.handle(.retryDue), [.dial(.join)])
            XCTAssertEqual(link.handle(.failed(.refused(.noSuchGroup, message: "no"))), [.waitForCreator(after: .seconds(1), announce: false)])
        }
        XCTAssertEqual(link.handle(.retryDue), [.dial(.join)])
        XCTAssertEqual(link.handle(.welcomed(at: t0)), [.joined])
    }

    func testCommandLoopReportsAMissingGroupAtOnce() {
        var link = machine(.join) { $0.giveUpBeforeFirstJoin = true; $0.waitForCreatorAtStart = false }
        _ = link.handle(.start)
        let missing = MemberError.refused(.noSuchGroup, message: "group x does not exist; create it first")
        XCTAssertEqual(link.handle(.failed(missing)), [.giveUp(missing)])
        XCTAssertEqual(link.state, .stopped)
    }

    func testCreateFailsOnAnExistingGroupFirstButJoinsItAfterAnOutage() {
        let exists = MemberError.refused(.groupExists, message: "exists")
        var oneShot = machine(.create) { $0.giveUpBeforeFirstJoin = true }
        XCTAssertEqual(oneShot.handle(.start), [.dial(.create)])
        XCTAssertEqual(oneShot.handle(.failed(exists)), [.giveUp(exists)])

        var link = joined(.create) { $0.giveUpBeforeFirstJoin = true }
        let lost = link.handle(.linkLost(reason: "relay died", relayWentAway: false, at: t0 + .seconds(1)))
        XCTAssertEqual(lost.first, .lost(reason: "relay died"))
        XCTAssertNotNil(retryDelay(lost))
        XCTAssertEqual(link.handle(.retryDue), [.dial(.create)], "the creator re-creates its group")
        XCTAssertEqual(link.handle(.failed(exists)), [.switchMode(to: .join, reason: "exists; joining it"), .dial(.join)])
    }

    func testFailuresBackOffExponentiallyAndAStableLinkResetsIt() throws {
        var link = joined(.auto)
        var delays: [Duration] = []
        var actions = link.handle(.linkLost(reason: "x", relayWentAway: false, at: t0 + .seconds(1)))
        for _ in 0..<6 {
            delays.append(try XCTUnwrap(retryDelay(actions)))
            XCTAssertEqual(link.state, .backingOff)
            XCTAssertEqual(link.handle(.retryDue), [.dial(.join)])
            actions = link.handle(.failed(.cannotConnect(.default, reason: "connection refused")))
        }
        XCTAssertLessThanOrEqual(delays[0], .milliseconds(200))
        XCTAssertGreaterThanOrEqual(delays[2], .milliseconds(400))
        XCTAssertLessThanOrEqual(delays.last!, .seconds(1))

        // Joined for longer than the stable period: the next delay is the first step again.
        _ = link.handle(.retryDue)
        _ = link.handle(.welcomed(at: t0))
        let again = link.handle(.linkLost(reason: "x", relayWentAway: false, at: t0 + .seconds(61)))
        XCTAssertEqual(retryDelay(again), .milliseconds(200))
    }

    func testARelayThatWentAwayIsRetriedAtOnce() {
        var link = joined(.auto)
        for _ in 0..<5 {
            _ = link.handle(.linkLost(reason: "x", relayWentAway: false, at: t0))
            _ = link.handle(.retryDue)
            _ = link.handle(.welcomed(at: t0))
        }
        XCTAssertEqual(retryDelay(link.handle(.linkLost(reason: "relay shutting down", relayWentAway: true, at: t0))), .milliseconds(200))
    }

    func testWithoutReconnectALostLinkEndsTheSession() {
        var link = joined(.join) { $0.keepJoined = false }
        XCTAssertEqual(link.handle(.linkLost(reason: "gone", relayWentAway: false, at: t0)),
                       [.lost(reason: "gone"), .giveUp(.disconnected(reason: "gone"))])
        XCTAssertEqual(link.state, .stopped)
    }

    func testOneShotReportsItsFirstFailureButRetriesOnceJoined() {
        let refused = MemberError.cannotConnect(.default, reason: "connection refused")
        var oneShot = machine(.join) { $0.giveUpBeforeFirstJoin = true }
        _ = oneShot.handle(.start)
        XCTAssertEqual(oneShot.handle(.failed(refused)), [.giveUp(refused)])

        var daemon = machine(.join)
        _ = daemon.handle(.start)
        XCTAssertNotNil(retryDelay(daemon.handle(.failed(refused))), "the daemon keeps trying from the start")

        var joinedOnce = joined(.join) { $0.giveUpBeforeFirstJoin = true }
        _ = joinedOnce.handle(.linkLost(reason: "x", relayWentAway: false, at: t0))
        _ = joinedOnce.handle(.retryDue)
        XCTAssertNotNil(retryDelay(joinedOnce.handle(.failed(refused))))
    }

    func testStopWinsOverEverythingAfterIt() {
        var link = machine(.auto)
        _ = link.handle(.start)
        XCTAssertEqual(link.handle(.stop), [.cancelRetry])
        XCTAssertEqual(link.handle(.linkUp), [.discardLink], "a link that arrives after stop is left at once")
        XCTAssertEqual(link.handle(.welcomed(at: t0)), [.discardLink])
        XCTAssertEqual(link.handle(.retryDue), [])
        XCTAssertEqual(link.handle(.failed(.disconnected(reason: "x"))), [])
        XCTAssertEqual(link.handle(.stop), [])
    }

    func testLateEventsChangeNothing() {
        var link = joined(.auto)
        XCTAssertEqual(link.handle(.retryDue), [], "a retry timer that fired as we joined")
        XCTAssertEqual(link.handle(.linkUp), [])
        XCTAssertEqual(link.handle(.failed(.disconnected(reason: "x"))), [])
        XCTAssertEqual(link.handle(.start), [])
        XCTAssertTrue(link.isJoined)

        var idle = machine(.auto)
        XCTAssertEqual(idle.handle(.linkLost(reason: "x", relayWentAway: false, at: t0)), [])
        XCTAssertEqual(idle.handle(.retryDue), [])
    }
}
