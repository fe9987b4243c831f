import P22PWire
import XCTest

final class StreamWindowTests: XCTestCase {
    func testCreditIsSpentAndGranted() throws {
        var window = StreamWindow(receiveWindow: 1000, sendCredit: 300)
        window.sent(300)
        XCTAssertEqual(window.sendCredit, 0)
        try window.granted(500)
        XCTAssertEqual(window.sendCredit, 500)
    }

    func testPeerCannotOverrunTheReceiveWindow() throws {
        var window = StreamWindow(receiveWindow: 1000)
        try window.received(600)
        XCTAssertThrowsError(try window.received(401)) { error in
            XCTAssertEqual(error as? StreamWindow.Violation, .peerExceededWindow(sent: 401, allowed: 400))
        }
    }

    func testCreditIsReturnedInQuarterWindowSteps() throws {
        var window = StreamWindow(receiveWindow: 1000)
        try window.received(1000)
        XCTAssertNil(window.delivered(100))
        XCTAssertNil(window.delivered(100))
        XCTAssertEqual(window.delivered(100), 300)
        XCTAssertEqual(window.receiveRemaining, 300)
        try window.received(300)
        XCTAssertThrowsError(try window.received(1))
    }

    func testCreditOverflowIsAViolation() throws {
        var window = StreamWindow(receiveWindow: 10, sendCredit: Int(UInt32.max))
        XCTAssertThrowsError(try window.granted(1))
    }
}
