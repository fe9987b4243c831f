import P22PClient
@testable import P22PDaemon
import XCTest

/// A reload touches only the forwards that changed.
final class ForwardChangeTests: XCTestCase {
    private func forward(_ local: Int, _ peer: String = "home", _ target: Int = 22) -> ForwardSpec {
        ForwardSpec(peer: .name(peer), listen: TargetAddress(host: "127.0.0.1", port: local), target: TargetAddress(host: "127.0.0.1", port: target))
    }

    func testUnchangedForwardsAreNeitherRemovedNorAdded() {
        let change = ForwardChange(from: [forward(2222), forward(3333)], to: [forward(3333), forward(2222)])
        XCTAssertEqual(change.removed, [])
        XCTAssertEqual(change.added, [])
    }

    func testAChangedForwardIsRemovedAndAddedAgain() {
        let change = ForwardChange(from: [forward(2222), forward(3333)], to: [forward(2222), forward(3333, "office"), forward(4444)])
        XCTAssertEqual(change.removed, [forward(3333)])
        XCTAssertEqual(change.added, [forward(3333, "office"), forward(4444)])
    }

    func testEverythingGoesOrComes() {
        XCTAssertEqual(ForwardChange(from: [forward(1), forward(2)], to: []).removed, [forward(1), forward(2)])
        XCTAssertEqual(ForwardChange(from: [], to: [forward(1)]).added, [forward(1)])
    }
}
