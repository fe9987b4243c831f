import Foundation
@testable import P22PCrypto
@testable import P22PRelay
import XCTest

/// `--reservations-per-address`: the reservations one address holds, as the
/// store counts them.
final class ReservationCapTests: XCTestCase {
    static let creator = [UInt8](repeating: 7, count: 32)

    private let now: Int64 = 1_900_000_000

    func testAnAddressHoldsAtMostItsCap() throws {
        let store = try FileReservationStore(directory: nil)
        _ = try store.reserveNow(group: "#one", creatorOnly: false, creatorKey: Self.creator, now: now, holder: "203.0.113.7", heldPerAddress: 2)
        let second = try store.reserveNow(group: "#two", creatorOnly: true, creatorKey: Self.creator, now: now, holder: "203.0.113.7", heldPerAddress: 2)
        XCTAssertThrowsError(try store.reserveNow(group: "#three", creatorOnly: false, creatorKey: Self.creator, now: now, holder: "203.0.113.7", heldPerAddress: 2)) { error in
            let failure = error as? ReservationFailure
            XCTAssertEqual(failure, .tooMany("203.0.113.7 already holds 2 reservations, the most this relay allows per address; extend those you use and let the others expire"))
            XCTAssertEqual(failure?.refusalCode, .rateLimited)
        }
        XCTAssertEqual(ReservationFailure.taken(until: "x").refusalCode, .reservedName)
        _ = try store.reserveNow(group: "#three", creatorOnly: false, creatorKey: Self.creator, now: now, holder: "198.51.100.9", heldPerAddress: 2)

        // Extending keeps the name with its holder: still two for 203.0.113.7.
        _ = try store.extendNow(second, now: now + 10)
        XCTAssertThrowsError(try store.reserveNow(group: "#four", creatorOnly: false, creatorKey: Self.creator, now: now + 10, holder: "203.0.113.7", heldPerAddress: 2))
        // Expired reservations no longer count.
        let later = now + Reservation.lifetime + 20
        _ = try store.reserveNow(group: "#four", creatorOnly: false, creatorKey: Self.creator, now: later, holder: "203.0.113.7", heldPerAddress: 2)
    }

    func testTheHolderSurvivesARestartAndOldRecordsCountForNobody() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-cap-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try FileReservationStore(directory: directory)
        _ = try store.reserveNow(group: "#one", creatorOnly: false, creatorKey: Self.creator, now: now, holder: "203.0.113.7", heldPerAddress: 1)
        let restarted = try FileReservationStore(directory: directory)
        XCTAssertThrowsError(try restarted.reserveNow(group: "#two", creatorOnly: false, creatorKey: Self.creator, now: now, holder: "203.0.113.7", heldPerAddress: 1))

        // A file from before the cap: no holder.
        let old = "{\"#old\":{\"expires\":\(now + 1000),\"mode\":\"all\"}}"
        try old.write(toFile: directory + "/reservations.json", atomically: true, encoding: .utf8)
        let upgraded = try FileReservationStore(directory: directory)
        _ = try upgraded.reserveNow(group: "#two", creatorOnly: false, creatorKey: Self.creator, now: now, holder: "203.0.113.7", heldPerAddress: 1)
        XCTAssertEqual(upgraded.count, 2)
    }
}
