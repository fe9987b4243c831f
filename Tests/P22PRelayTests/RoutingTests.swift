@testable import P22PRelay
import P22PWire
import XCTest

/// Where the relay sends a relayed frame, one fact at a time.
final class RoutingTests: XCTestCase {
    private func frame(_ change: (inout Routing.Frame) -> Void = { _ in }) -> Routing.Frame {
        var frame = Routing.Frame(source: CID(2), destination: CID(3), senderJoined: true, hasPayload: true,
                                  destinationPresent: true, group: "office", creatorOnly: false, creator: CID(1))
        change(&frame)
        return frame
    }

    func testAFrameToAPresentMemberIsDelivered() {
        XCTAssertEqual(Routing.decide(frame()), .deliver)
    }

    func testProtocolViolationsDisconnect() {
        XCTAssertEqual(Routing.decide(frame { $0.senderJoined = false }), .disconnect(reason: "relayed frame before joining a group"))
        XCTAssertEqual(Routing.decide(frame { $0.hasPayload = false }), .disconnect(reason: "empty relayed frame"))
    }

    func testGoneOrSelfIsUndeliverable() {
        XCTAssertEqual(Routing.decide(frame { $0.destinationPresent = false }), .undeliverable(reason: ""))
        XCTAssertEqual(Routing.decide(frame { $0.destination = CID(2) }), .undeliverable(reason: ""))
    }

    func testCreatorOnlyGroupsRouteOnlyThroughTheCreator() {
        let sco = { (source: UInt16, destination: UInt16) in
            Routing.decide(self.frame { $0.creatorOnly = true; $0.source = CID(source); $0.destination = CID(destination) })
        }
        XCTAssertEqual(sco(2, 3), .undeliverable(reason: "group office is creator-only: members can only reach its creator"))
        XCTAssertEqual(sco(2, 1), .deliver)
        XCTAssertEqual(sco(1, 3), .deliver)
    }
}
