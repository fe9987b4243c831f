import Foundation
import Logging
import P22PCrypto
import P22PRelay
@testable import P22PRelayPostgres
import XCTest

/// Relays that keep reservations in one PostgreSQL database (`--state
/// postgres://…`), as a cluster behind a load balancer does: a reservation
/// made through one relay holds on every other, a race for a name has one
/// winner, and a relay that loses the database keeps routing.
final class SharedReservationTests: ProcessTestCase {
    private var database: PostgresServer!
    private var directory: URL!

    override func setUp() async throws {
        try await super.setUp()
        database = try PostgresServer()
        try await database.start()
        try database.createDatabase()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-shared-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        super.tearDown()  // the relays first, then their database
        database?.stop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func sharedRelay() async throws -> RelayProcess {
        try await startRelay(["--state", database.url(), "--reservations-per-hour", "1000"])
    }

    private func p22p(_ arguments: [String]) throws -> ToolProcess {
        try run("p22p", arguments, environment: ["P22P_PASSWORD": "club password"])
    }

    private func finish(_ arguments: [String], timeout: TimeInterval = 20) async throws -> (Int32?, ToolProcess) {
        let process = try p22p(arguments)
        return (try await process.waitForExit(timeout: timeout), process)
    }

    private func keyPath(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Two stores on the test's database, each with its own connections, as
    /// two relays have.
    private func twoStores() async throws -> [PostgresReservationStore] {
        let location = try PostgresLocation(parsing: database.url())
        return [try await PostgresReservationStore.open(location, logger: Logger(label: "relay1")),
                try await PostgresReservationStore.open(location, logger: Logger(label: "relay2"))]
    }

    func testAReservationMadeThroughOneRelayHoldsOnAnother() async throws {
        let first = try await sharedRelay()
        try await first.tool.waitForLine(containing: "p22p schema created at version 1")
        let second = try await sharedRelay()
        XCTAssertFalse(second.tool.output.contains("schema created"), "the second relay finds the schema made")

        let key = keyPath("club.key")
        let (reserved, reserve) = try await finish(["reserve", "#club", "--out", key, "--server", first.url])
        XCTAssertEqual(reserved, 0, reserve.output)

        // The other relay knows the name is taken, and refuses it without its key.
        let (againStatus, again) = try await finish(["reserve", "#club", "--out", keyPath("x.key"), "--server", second.url])
        XCTAssertEqual(againStatus, 1)
        XCTAssertTrue(again.standardError.contains("already reserved until"), again.standardError)
        let (plainStatus, plain) = try await finish(["create", "#club", "--server", second.url, "--name", "squatter"])
        XCTAssertEqual(plainStatus, 1)
        XCTAssertTrue(plain.standardError.contains("group #club is reserved: create it with its reservation key"), plain.standardError)

        // It honours the key the first relay signed, and extends it.
        let owner = try p22p(["create", "#club", "--server", second.url, "--name", "owner", "--reservation", key])
        try await owner.waitForLine(containing: "created group #club as owner")
        let before = try XCTUnwrap(Reservation.decode(Array(try Data(contentsOf: URL(fileURLWithPath: key)))))
        try await Task.sleep(nanoseconds: 1_100_000_000)  // a renewal is dated to the second
        let (extended, extend) = try await finish(["extend", key, "--server", second.url])
        XCTAssertEqual(extended, 0, extend.output)
        let after = try XCTUnwrap(Reservation.decode(Array(try Data(contentsOf: URL(fileURLWithPath: key)))))
        XCTAssertGreaterThan(after.expires, before.expires)
        // Extended through one relay, valid through the other.
        let friend = try p22p(["join", "#club", "--server", second.url, "--name", "friend"])
        try await friend.waitForLine(containing: "joined group #club as friend")
        owner.send(SIGINT)
        friend.send(SIGINT)
        _ = try await owner.waitForExit(timeout: 10)
        let recreated = try p22p(["create", "#club", "--server", first.url, "--name", "owner", "--reservation", key])
        try await recreated.waitForLine(containing: "created group #club as owner")
    }

    /// Two relays asked for one name at the same moment: the database's
    /// unique key lets exactly one grant it.
    func testTwoRelaysRacingForANameGrantItOnce() async throws {
        let first = try await sharedRelay()
        let second = try await sharedRelay()
        for round in 0..<5 {
            let racers = try [first, second].enumerated().map { index, relay in
                try p22p(["reserve", "#race\(round)", "--out", keyPath("race\(round)-\(index).key"), "--server", relay.url])
            }
            var statuses: [Int32?] = []
            for racer in racers { statuses.append(try await racer.waitForExit(timeout: 20)) }
            XCTAssertEqual(statuses.filter { $0 == 0 }.count, 1, "round \(round): \(racers.map(\.output))")
            XCTAssertEqual(statuses.filter { $0 == 1 }.count, 1, "round \(round): \(racers.map(\.output))")
            let loser = try XCTUnwrap(racers.first { $0.process.terminationStatus == 1 })
            XCTAssertTrue(loser.standardError.contains("already reserved until"), loser.standardError)
        }

        // Closer than processes can start: two stores, each with its own
        // connections, 16 requests for each name at once.
        let stores = try await twoStores()
        defer { stores.forEach { $0.close() } }
        let creator = MemberIdentity().publicKey
        let now = Int64(Date().timeIntervalSince1970)
        for name in 0..<10 {
            let granted = await withTaskGroup(of: Bool.self) { group in
                for attempt in 0..<16 {
                    group.addTask {
                        do {
                            _ = try await stores[attempt % 2].reserve(group: "#burst\(name)", creatorOnly: false, creatorKey: creator, now: now,
                                                                      holder: "192.0.2.\(attempt)", heldPerAddress: 100)
                            return true
                        } catch {
                            XCTAssertEqual(error as? ReservationFailure, ReservationRules.taken(until: now + Reservation.lifetime))
                            return false
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            XCTAssertEqual(granted, 1, "#burst\(name) was granted \(granted) times")
        }
    }

    /// Many members creating reserved groups at once (a cluster's reconnect
    /// storm): every check is answered, none waits for a connection that a
    /// finished one kept.
    func testManyChecksAtOnceAreAllAnswered() async throws {
        let store = try await PostgresReservationStore.open(try PostgresLocation(parsing: database.url()), logger: Logger(label: "checks"))
        defer { store.close() }
        let now = Int64(Date().timeIntervalSince1970)
        let creator = MemberIdentity().publicKey
        var reservations: [Reservation] = []
        for index in 0..<8 {
            reservations.append(try await store.reserve(group: "#many\(index)", creatorOnly: false, creatorKey: creator, now: now,
                                                        holder: "192.0.2.1", heldPerAddress: 100))
        }
        let started = Date()
        let answered = await withTaskGroup(of: Bool.self) { group in
            for round in 0..<40 {
                let reservation = reservations[round % reservations.count]
                group.addTask { (try? await store.validate(reservation, now: now)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(answered, 40)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        let extended = try await store.extend(reservations[0], now: now + 10)
        XCTAssertEqual(extended.expires, now + 10 + Reservation.lifetime)
        await store.refreshCount()
        XCTAssertEqual(store.count, 8)
    }

    /// The per-address cap holds across relays: they count one holder's
    /// reservations in the database, one request at a time.
    func testTheCapOfAnAddressHoldsAcrossRelays() async throws {
        let stores = try await twoStores()
        defer { stores.forEach { $0.close() } }
        let creator = MemberIdentity().publicKey
        let now = Int64(Date().timeIntervalSince1970)
        let granted = await withTaskGroup(of: Bool.self) { group in
            for attempt in 0..<12 {
                group.addTask {
                    (try? await stores[attempt % 2].reserve(group: "#cap\(attempt)", creatorOnly: false, creatorKey: creator, now: now,
                                                            holder: "198.51.100.7", heldPerAddress: 3)) != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(granted, 3, "198.51.100.7 may hold 3")
    }

    /// kill -9 of PostgreSQL: open groups keep routing and new ones open, but
    /// reserve, extend and `#` creates are refused with a sentence, within
    /// seconds; once the database is back they work again.
    func testARelayThatLosesItsDatabaseKeepsRoutingAndRefusesReservations() async throws {
        let relay = try await sharedRelay()
        let key = keyPath("club.key")
        let (reserved, reserve) = try await finish(["reserve", "#club", "--out", key, "--server", relay.url])
        XCTAssertEqual(reserved, 0, reserve.output)

        let echo = try echoServer()
        let host = try p22p(["create", "demo", "--server", relay.url, "--name", "host", "--allow", "\(echo.port)"])
        try await host.waitForLine(containing: "created group demo as host")
        let guest = try p22p(["join", "demo", "--server", relay.url, "--name", "guest", "--relay", "host:0:\(echo.port)"])
        let line = try await guest.waitForLine(containing: "to host 127.0.0.1:\(echo.port)")
        let port = try XCTUnwrap(Int(line.components(separatedBy: "127.0.0.1:")[1].split(separator: " ")[0]))
        XCTAssertEqual(try roundTrip(port: port, message: Array("before".utf8)), Array("before".utf8))

        try await database.kill9()

        XCTAssertEqual(try roundTrip(port: port, message: Array("during".utf8)), Array("during".utf8), "the open group keeps routing")
        let other = try p22p(["create", "plain", "--server", relay.url, "--name", "solo"])
        try await other.waitForLine(containing: "created group plain as solo")

        let started = Date()
        let (refusedStatus, refused) = try await finish(["reserve", "#new", "--out", keyPath("new.key"), "--server", relay.url])
        XCTAssertEqual(refusedStatus, 1)
        XCTAssertTrue(refused.standardError.contains("the relay cannot reach its reservation database right now"), refused.standardError)
        XCTAssertTrue(refused.standardError.contains("nothing listens on 127.0.0.1:\(database.port)")
                      || refused.standardError.contains("closed the connection"), refused.standardError)
        XCTAssertLessThan(Date().timeIntervalSince(started), 15, "refused within the relay's 5 s deadline, plus the client's start")
        let (createStatus, create) = try await finish(["create", "#club", "--server", relay.url, "--name", "owner", "--reservation", key])
        XCTAssertEqual(createStatus, 1)
        XCTAssertTrue(create.standardError.contains("cannot reach its reservation database"), create.standardError)
        let (extendStatus, extend) = try await finish(["extend", key, "--server", relay.url])
        XCTAssertEqual(extendStatus, 1)
        XCTAssertTrue(extend.standardError.contains("cannot reach its reservation database"), extend.standardError)
        try await relay.tool.waitForLine(containing: "lost PostgreSQL database p22p at 127.0.0.1:\(database.port)")

        try await database.start()
        // The relay reconnects on the next request; the connection pool may
        // still be backing off from the outage for a moment.
        var status: Int32?
        var last = ""
        for attempt in 0..<30 where status != 0 {
            let (code, process) = try await finish(["reserve", "#new\(attempt)", "--out", keyPath("new\(attempt).key"), "--server", relay.url])
            status = code
            last = process.output
            if code != 0 { try await Task.sleep(nanoseconds: 1_000_000_000) }
        }
        XCTAssertEqual(status, 0, last)
        try await relay.tool.waitForLine(containing: "is back; reservations work again")
        let owner = try p22p(["create", "#club", "--server", relay.url, "--name", "owner", "--reservation", key])
        try await owner.waitForLine(containing: "created group #club as owner")
    }

    func testABadURLOrAnUnreachableDatabaseStopsTheRelayWithASentence() async throws {
        let cases: [([String], String)] = [
            (["--state", "/var/lib/p22p"], "--state takes a PostgreSQL URL such as postgres://"),
            (["--state", "postgres://127.0.0.1/p22p"], "names no user"),
            (["--state", "postgres://p22p@127.0.0.1:5432/"], "names no database"),
            (["--state", "postgres://p22p@127.0.0.1/p22p?sslmode=maybe"], "sslmode must be one of disable, prefer, require, verify-full"),
            (["--state", database.url(), "--state-dir", "/tmp/x"], "--state and --state-dir exclude each other"),
            (["--state", database.url(database: "missing")], "says: database \"missing\" does not exist"),
        ]
        for (arguments, expected) in cases {
            let relay = try run("p22p-server", ["--listen", "127.0.0.1:0"] + arguments)
            let status = try await relay.waitForExit(timeout: 20)
            XCTAssertNotEqual(status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(relay.standardError.contains(expected), "\(arguments): \(relay.standardError)")
            XCTAssertFalse(relay.standardError.contains("PSQLError"), relay.standardError)
        }
        let closed = try freePort()
        let relay = try run("p22p-server", ["--listen", "127.0.0.1:0", "--state", "postgres://p22p@127.0.0.1:\(closed)/p22p?sslmode=disable"])
        let status = try await relay.waitForExit(timeout: 20)
        XCTAssertEqual(status, 1)
        XCTAssertTrue(relay.standardError.contains("nothing listens on 127.0.0.1:\(closed) (is PostgreSQL running?)"), relay.standardError)
    }

    /// A database that a newer relay migrated further is not used by an
    /// older one, which says what to do.
    func testASchemaNewerThanTheRelayStopsItWithASentence() async throws {
        try database.sql("CREATE TABLE p22p_schema (version integer NOT NULL)")
        try database.sql("INSERT INTO p22p_schema (version) VALUES (99)")
        let relay = try run("p22p-server", ["--listen", "127.0.0.1:0", "--state", database.url()])
        let status = try await relay.waitForExit(timeout: 20)
        XCTAssertEqual(status, 1)
        XCTAssertTrue(relay.standardError.contains("its p22p schema is version 99, newer than this relay knows (1); upgrade this relay"),
                      relay.standardError)
    }

    /// A database that accepts the connection and then says nothing (a
    /// stopped server, a dead link) costs a caller the deadline, not minutes.
    func testTheDeadlineEndsAWaitForADatabaseThatNeverAnswers() async throws {
        let started = Date()
        do {
            _ = try await withDeadline(.milliseconds(300)) {
                try await Task.sleep(nanoseconds: 30_000_000_000)
                return 1
            }
            XCTFail("the work outlived its deadline")
        } catch is DeadlinePassed {}
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }
}
