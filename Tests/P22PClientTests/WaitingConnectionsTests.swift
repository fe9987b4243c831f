import NIOCore
@testable import P22PClient
import XCTest

final class WaitingConnectionsTests: XCTestCase {
    private let toHome = ForwardSpec(peer: .name("home"), listen: TargetAddress(host: "127.0.0.1", port: 2222),
                                     target: TargetAddress(host: "127.0.0.1", port: 22))
    private let toOffice = ForwardSpec(peer: .name("office"), listen: TargetAddress(host: "127.0.0.1", port: 3333),
                                       target: TargetAddress(host: "127.0.0.1", port: 22))
    private let t0 = NIODeadline.uptimeNanoseconds(5_000_000_000)

    func testAConnectionWaitsUntilLinkAndPeerAreBoth() {
        var waiting = WaitingConnections(limit: .seconds(10))
        let entry = waiting.add(toHome, address: "127.0.0.1:2222", reason: .link, now: t0)
        XCTAssertEqual(entry.deadline, t0 + .seconds(10))
        XCTAssertEqual(waiting.ready(isPresent: { _ in false }), [], "link back, peer not yet")
        XCTAssertEqual(waiting.entries.first?.reason, .peer(.name("home")), "now it waits for the peer")
        waiting.linkLost()
        XCTAssertEqual(waiting.entries.first?.reason, .link, "the link dropped again: that is what it waits for")
        XCTAssertEqual(waiting.ready(isPresent: { $0 == .name("home") }).map(\.id), [entry.id])
        XCTAssertTrue(waiting.isEmpty)
    }

    func testOnlyConnectionsWhosePeerIsHereAreServedInArrivalOrder() {
        var waiting = WaitingConnections(limit: .seconds(10))
        let first = waiting.add(toHome, address: "127.0.0.1:2222", reason: .link, now: t0)
        let office = waiting.add(toOffice, address: "127.0.0.1:2222", reason: .link, now: t0)
        let second = waiting.add(toHome, address: "127.0.0.1:2222", reason: .link, now: t0 + .seconds(1))
        XCTAssertEqual(waiting.ready(isPresent: { $0 == .name("home") }).map(\.id), [first.id, second.id])
        XCTAssertEqual(waiting.entries.map(\.id), [office.id])
    }

    func testDeadlineTakesOutOnlyWhatStillWaits() {
        var waiting = WaitingConnections(limit: .seconds(10))
        let entry = waiting.add(toHome, address: "127.0.0.1:2222", reason: .link, now: t0)
        XCTAssertEqual(waiting.take(entry.id)?.id, entry.id)
        XCTAssertNil(waiting.take(entry.id), "taken once")

        let served = waiting.add(toHome, address: "127.0.0.1:2222", reason: .link, now: t0)
        _ = waiting.ready(isPresent: { _ in true })
        XCTAssertNil(waiting.take(served.id), "a served connection's deadline does nothing")

        let closed = waiting.add(toHome, address: "127.0.0.1:2222", reason: .link, now: t0)
        XCTAssertNotNil(waiting.take(closed.id), "its program gave up")
        XCTAssertNil(waiting.take(closed.id), "so its deadline does nothing")
    }

    func testRemovingAForwardTakesItsConnections() {
        var waiting = WaitingConnections(limit: .seconds(10))
        _ = waiting.add(toHome, address: "127.0.0.1:2222", reason: .link, now: t0)
        let office = waiting.add(toOffice, address: "127.0.0.1:2222", reason: .link, now: t0)
        XCTAssertEqual(waiting.removeAll(of: toHome).count, 1)
        XCTAssertEqual(waiting.entries.map(\.id), [office.id])
        XCTAssertEqual(waiting.removeAll().count, 1)
        XCTAssertTrue(waiting.isEmpty)
    }

    func testReasonsReadAsSentences() {
        XCTAssertEqual(WaitingConnections.Reason.link.description, "the link to the relay")
        XCTAssertEqual(WaitingConnections.Reason.peer(.name("home")).description, "peer home")
    }
}
