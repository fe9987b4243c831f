@testable import P22PRelay
import P22PWire
import XCTest

/// Every rule of admission, one fact at a time.
final class AdmissionTests: XCTestCase {
    private func request(create: Bool, _ change: (inout Admission.Request) -> Void = { _ in }) -> Admission.Request {
        var request = Admission.Request(version: ProtocolVersion.current, group: "office", address: "192.0.2.7", name: "laptop",
                                        create: create, pathMatches: true, signed: { true }, rateLimited: false,
                                        groupExists: !create, reservation: { .notNeeded })
        change(&request)
        return request
    }

    private func refusal(_ decision: Admission.Decision) -> RefusalCode? {
        if case .refuse(let code, _, _) = decision { return code }
        return nil
    }

    func testAGoodCreateAndJoinGoAhead() {
        XCTAssertEqual(Admission.decide(request(create: true)), .create(creatorOnly: false))
        XCTAssertEqual(Admission.decide(request(create: false)), .join)
    }

    func testChecksThatApplyToBoth() {
        for create in [true, false] {
            XCTAssertEqual(refusal(Admission.decide(request(create: create) { $0.version += 1 })), .versionMismatch)
            XCTAssertEqual(refusal(Admission.decide(request(create: create) { $0.name = "bad name" })), .invalidRequest)
            XCTAssertEqual(refusal(Admission.decide(request(create: create) { $0.group = "" })), .invalidRequest)
            XCTAssertEqual(Admission.decide(request(create: create) { $0.pathMatches = false }),
                           .refuse(.invalidRequest, "the URL path does not match group office", failedJoin: false))
        }
    }

    func testJoinRules() {
        XCTAssertEqual(Admission.decide(request(create: false) { $0.groupExists = false }),
                       .refuse(.noSuchGroup, "group office does not exist; create it first", failedJoin: false))
        XCTAssertEqual(Admission.decide(request(create: false) { $0.signed = { false } }),
                       .refuse(.wrongPassword, "wrong password for group office", failedJoin: true), "counted against the address")
        XCTAssertEqual(Admission.decide(request(create: false) { $0.rateLimited = true; $0.signed = { false } }),
                       .refuse(.rateLimited, "too many failed joins from 192.0.2.7; wait a minute", failedJoin: false),
                       "a limited address learns nothing about the password")
    }

    func testAnUnprovenMemberKeyIsRefused() {
        XCTAssertEqual(Admission.decide(request(create: false) { $0.memberKeyProven = { false } }),
                       .refuse(.invalidRequest, Admission.unprovenKey, failedJoin: true), "only a password holder gets this far")
        XCTAssertEqual(Admission.decide(request(create: true) { $0.memberKeyProven = { false } }),
                       .refuse(.invalidRequest, Admission.unprovenKey, failedJoin: false))
        XCTAssertEqual(Admission.decide(request(create: false) { $0.signed = { false }; $0.memberKeyProven = { false } }),
                       .refuse(.wrongPassword, "wrong password for group office", failedJoin: true), "the password is checked first")
    }

    func testCreateRulesAndReservations() {
        XCTAssertEqual(refusal(Admission.decide(request(create: true) { $0.signed = { false } })), .invalidRequest)
        let reserved = { (standing: Admission.ReservationStanding) in
            Admission.decide(self.request(create: true) { $0.group = "#club"; $0.reservation = { standing } })
        }
        XCTAssertEqual(refusal(reserved(.missing)), .reservedName)
        XCTAssertEqual(refusal(reserved(.unusable)), .invalidRequest)
        XCTAssertEqual(reserved(.rejected("the reservation of #club expired")), .refuse(.reservedName, "the reservation of #club expired", failedJoin: false))
        XCTAssertEqual(reserved(.valid(creatorOnly: true)), .create(creatorOnly: true))
        XCTAssertEqual(reserved(.valid(creatorOnly: false)), .create(creatorOnly: false))
    }

    func testSignaturesAreCheckedOnlyAfterTheCheapRules() {
        var checked = 0
        let counting = { (change: (inout Admission.Request) -> Void) -> Admission.Decision in
            Admission.decide(self.request(create: false) { request in
                change(&request)
                request.signed = { checked += 1; return true }
            })
        }
        _ = counting { $0.rateLimited = true }
        _ = counting { $0.groupExists = false }
        _ = counting { $0.version += 1 }
        _ = counting { $0.pathMatches = false }
        XCTAssertEqual(checked, 0, "a refused request costs no signature check")
        XCTAssertEqual(counting { _ in }, .join)
        XCTAssertEqual(checked, 1)
    }

    func testRegistryRefusalsReadAsSentences() {
        XCTAssertEqual(Admission.refusal(GroupRegistry.CreateError.exists, group: "office", maxGroups: 9).1, "group office already exists; join it instead")
        XCTAssertEqual(Admission.refusal(GroupRegistry.CreateError.tooMany, group: "office", maxGroups: 9).0, .tooManyGroups)
        XCTAssertEqual(Admission.refusal(RelayGroup.AdmitError.nameInUse, group: "office", name: "laptop").0, .nameInUse)
        XCTAssertEqual(Admission.refusal(RelayGroup.AdmitError.full, group: "office", name: "laptop").1, "group office is full")
        XCTAssertEqual(Admission.refusal(RelayGroup.AdmitError.retired, group: "office", name: "laptop").0, .noSuchGroup)
    }
}
