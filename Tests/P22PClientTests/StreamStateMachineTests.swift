@testable import P22PClient
import XCTest

/// Every transition of a stream, including the events that are invalid in a
/// state: those must reset, never end a stream cleanly.
final class StreamStateMachineTests: XCTestCase {
    private func opened(locally: Bool = true) -> StreamStateMachine {
        var machine = StreamStateMachine(initiatedLocally: locally)
        _ = machine.handle(locally ? .peerAccepted : .targetConnected)
        XCTAssertEqual(machine.state, .open)
        return machine
    }

    func testOurOpenAcceptedStartsReading() {
        var machine = StreamStateMachine(initiatedLocally: true)
        XCTAssertEqual(machine.state, .opening)
        XCTAssertEqual(machine.handle(.peerAccepted), [.startReading])
        XCTAssertEqual(machine.state, .open)
    }

    func testTheirOpenConnectedIsAccepted() {
        var machine = StreamStateMachine(initiatedLocally: false)
        XCTAssertEqual(machine.handle(.targetConnected), [.sendAccept, .startReading])
        XCTAssertEqual(machine.state, .open)
    }

    func testTargetThatFailsIsRefusedToThePeer() {
        var machine = StreamStateMachine(initiatedLocally: false)
        XCTAssertEqual(machine.handle(.targetFailed(reason: "nothing listens")), [.sendRefusal(reason: "nothing listens")])
        XCTAssertEqual(machine.state, .closed)
    }

    func testRefusalWhileOpeningIsAPlainClose() {
        var machine = StreamStateMachine(initiatedLocally: true)
        XCTAssertEqual(machine.handle(.peerRefused(reason: "not allowed")),
                       [.reportRefused(by: "the peer", reason: "not allowed"), .closeLocal])
        XCTAssertEqual(machine.state, .closed)

        var relayed = StreamStateMachine(initiatedLocally: true)
        XCTAssertEqual(relayed.handle(.relayRefused(reason: "too many streams")),
                       [.reportRefused(by: "the relay", reason: "too many streams"), .closeLocal])
    }

    func testRefusalOfAnOpenStreamIsAResetNeverACleanClose() {
        for refusal in [StreamStateMachine.Event.relayRefused(reason: "x"), .peerRefused(reason: "x")] {
            for state in ["open", "halfClosedLocal", "halfClosedRemote"] {
                var machine = opened()
                if state == "halfClosedLocal" { _ = machine.handle(.localFinished) }
                if state == "halfClosedRemote" { _ = machine.handle(.peerFinished) }
                let actions = machine.handle(refusal)
                XCTAssertTrue(actions.contains(.resetLocal), "\(refusal) in \(state): \(actions)")
                XCTAssertFalse(actions.contains(.closeLocal), "\(refusal) in \(state) must not close cleanly")
                guard case .reset = machine.state else { return XCTFail("\(refusal) in \(state) left \(machine.state)") }
            }
        }
    }

    func testRefusalOfAStreamThePeerOpenedIsAViolation() {
        var machine = StreamStateMachine(initiatedLocally: false)
        let actions = machine.handle(.peerRefused(reason: "x"))
        XCTAssertTrue(actions.contains(.resetLocal))
        XCTAssertTrue(actions.contains { if case .sendReset = $0 { true } else { false } })
    }

    func testHalfCloseEachWayThenClosed() {
        var machine = opened()
        XCTAssertEqual(machine.handle(.localFinished), [.sendFinish])
        XCTAssertEqual(machine.state, .halfClosedLocal)
        XCTAssertTrue(machine.acceptsPeerData)
        XCTAssertFalse(machine.maySend)
        XCTAssertEqual(machine.handle(.peerData), [])
        XCTAssertEqual(machine.handle(.peerFinished), [.shutDownLocalOutput, .closeLocal])
        XCTAssertEqual(machine.state, .closed)

        var other = opened()
        XCTAssertEqual(other.handle(.peerFinished), [.shutDownLocalOutput])
        XCTAssertEqual(other.state, .halfClosedRemote)
        XCTAssertTrue(other.maySend)
        XCTAssertEqual(other.handle(.localFinished), [.sendFinish, .closeLocal])
        XCTAssertEqual(other.state, .closed)
    }

    func testLocalCloseAfterPeerFinishIsGraceful() {
        var machine = opened()
        _ = machine.handle(.peerFinished)
        XCTAssertEqual(machine.handle(.localClosed), [.sendFinish, .closeLocal])
        XCTAssertEqual(machine.state, .closed)
    }

    func testLocalAbortResetsThePeerQuietly() {
        var machine = opened()
        XCTAssertEqual(machine.handle(.localClosed), [.sendReset(reason: "local connection closed"), .resetLocal])
    }

    func testDataOrFinishWhereNoneMayComeResets() {
        var opening = StreamStateMachine(initiatedLocally: true)
        XCTAssertTrue(opening.handle(.peerData).contains(.resetLocal))

        var finished = opened()
        _ = finished.handle(.peerFinished)
        XCTAssertTrue(finished.handle(.peerData).contains(.resetLocal), "data after the peer's finish")

        var twice = opened()
        _ = twice.handle(.peerFinished)
        XCTAssertTrue(twice.handle(.peerFinished).contains(.resetLocal))

        var early = StreamStateMachine(initiatedLocally: true)
        XCTAssertTrue(early.handle(.peerFinished).contains(.resetLocal))

        var accepted = opened()
        XCTAssertTrue(accepted.handle(.peerAccepted).contains(.resetLocal), "a second acceptance")
    }

    func testPeerResetAndLostSession() {
        var machine = opened()
        XCTAssertEqual(machine.handle(.peerReset(reason: "gone")), [.resetLocal, .reportReset(reason: "gone", by: .peer)])
        XCTAssertEqual(machine.state, .reset(reason: "gone"))

        var lost = opened()
        XCTAssertEqual(lost.handle(.sessionEnded(reason: "disconnected from the relay")),
                       [.resetLocal, .reportReset(reason: "disconnected from the relay", by: .session)])

        var failed = opened()
        XCTAssertEqual(failed.handle(.localFailed(reason: "EPIPE")).first, .sendReset(reason: "local connection failed: EPIPE"))
    }

    func testLocalEventsWhileOpening() {
        var finished = StreamStateMachine(initiatedLocally: true)
        XCTAssertEqual(finished.handle(.localFinished), [], "the finish waits for the open: it follows the held data")
        XCTAssertEqual(finished.state, .opening)

        var closed = StreamStateMachine(initiatedLocally: true)
        XCTAssertEqual(closed.handle(.localClosed), [.sendReset(reason: "local connection closed"), .resetLocal],
                       "a program that gave up before the open was accepted resets the peer's side")
    }

    func testLocalCloseAfterOurFinishResets() {
        var machine = opened()
        _ = machine.handle(.localFinished)
        let actions = machine.handle(.localClosed)
        XCTAssertTrue(actions.contains(.resetLocal), "the peer may still send, and nobody would read it: \(actions)")
        guard case .reset = machine.state else { return XCTFail("\(machine.state)") }
    }

    func testRelayRefusalOfAStreamThePeerOpenedResets() {
        var machine = StreamStateMachine(initiatedLocally: false)
        let actions = machine.handle(.relayRefused(reason: "too many streams"))
        XCTAssertTrue(actions.contains(.resetLocal))
        XCTAssertFalse(actions.contains(.closeLocal))
    }

    func testAnEndedStreamIgnoresEverything() {
        var machine = opened()
        _ = machine.handle(.localFinished)
        _ = machine.handle(.peerFinished)
        let events: [StreamStateMachine.Event] = [
            .peerAccepted, .peerRefused(reason: "x"), .relayRefused(reason: "x"), .targetConnected, .targetFailed(reason: "x"),
            .peerData, .peerFinished, .peerReset(reason: "x"), .localFinished, .localClosed, .localFailed(reason: "x"),
            .sessionEnded(reason: "x"), .protocolViolation("x"),
        ]
        for event in events {
            XCTAssertEqual(machine.handle(event), [], "\(event)")
            XCTAssertEqual(machine.state, .closed)
        }
    }
}
