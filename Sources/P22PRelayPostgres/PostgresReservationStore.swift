@preconcurrency import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import P22PCrypto
import P22PRelay
import PostgresNIO

/// Reservations and their signing key in PostgreSQL, shared by every relay
/// behind one load balancer: a name reserved through one relay is honoured by
/// all, and the database's unique key on the name decides a race between two
/// relays. Without the database a relay keeps routing the groups it has, and
/// refuses reserve, extend and `#` creates with a sentence that says why.
public final class PostgresReservationStore: ReservationStore {
    let client: PostgresClient
    let location: PostgresLocation
    let signingKey: Curve25519.Signing.PrivateKey
    let logger: Logger
    /// How long a member waits for the database before it is told it is unreachable.
    let deadline: Duration
    private let runner: Task<Void, Never>
    private let known = NIOLockedValueBox(Known())

    struct Known {
        var count = 0
        /// Why the last attempt failed, while the database is unreachable.
        var outage: String?
    }

    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    private init(client: PostgresClient, runner: Task<Void, Never>, location: PostgresLocation, signingKey: Curve25519.Signing.PrivateKey,
                 deadline: Duration, logger: Logger) {
        self.client = client
        self.runner = runner
        self.location = location
        self.signingKey = signingKey
        self.deadline = deadline
        self.logger = logger
    }

    /// Connects, creates or migrates the schema, and loads the relays' shared
    /// signing key (the first relay to start makes it). Throws a sentence if
    /// the database cannot be used; the relay does not start without it.
    public static func open(_ location: PostgresLocation, deadline: Duration = .seconds(5), logger: Logger) async throws(StartError) -> PostgresReservationStore {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tlsSetting(location.tls))
        configuration.options.connectTimeout = deadline
        configuration.options.maximumConnections = 4
        // The server gives up on a statement, or a wait for a lock, before the
        // relay's deadline: a reservation the member was told failed is never
        // committed late, and a slow server frees its connections.
        let serverLimit = "\(max(1, deadline.components.seconds - 1) * 1000)"
        configuration.options.additionalStartupParameters = [("statement_timeout", serverLimit), ("lock_timeout", serverLimit)]
        let libraryLogger = quiet(logger)
        // The pool keeps retrying a connection it cannot make; one direct
        // attempt first says why at once (nothing listening, no such database).
        if let why = await probe(location, deadline: deadline, logger: libraryLogger) {
            throw StartError(description: "cannot use \(location): \(why); check that it runs and that the URL, user and password are right")
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: libraryLogger)
        let runner = Task { await client.run() }
        do {
            let found = try await withDeadline(deadline * 2) { try await ReservationSchema.migrate(client, logger: libraryLogger) }
            if found < ReservationSchema.current {
                logger.info("\(location): p22p schema \(found == 0 ? "created" : "migrated from version \(found)") at version \(ReservationSchema.current)")
            }
            let key = try await withDeadline(deadline) { try await loadSigningKey(client, logger: libraryLogger) }
            let store = PostgresReservationStore(client: client, runner: runner, location: location, signingKey: key, deadline: deadline, logger: logger)
            await store.refreshCount()
            logger.info("reservations are kept in \(location), shared with every relay that uses it")
            return store
        } catch {
            runner.cancel()
            logger.debug("database start failed", metadata: ["error": "\(String(reflecting: error))"])
            // Thrown inside the migration's transaction, it comes back wrapped.
            let inner = (error as? PostgresTransactionError)?.closureError ?? error
            if let tooNew = inner as? ReservationSchema.TooNew { throw StartError(description: "cannot use \(location): \(tooNew)") }
            throw StartError(description: "cannot use \(location): \(DatabaseErrors.describe(error, at: location)); check that it runs and that the URL, user and password are right")
        }
    }

    /// Why a fresh connection to the database fails, or nil if one can be
    /// made: the pool itself only says that it is still trying.
    static func probe(_ location: PostgresLocation, deadline: Duration, logger: Logger) async -> String? {
        do {
            let tls: PostgresConnection.Configuration.TLS = switch location.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration(location.tls)))
            case .require, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration(location.tls)))
            }
            var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                                 password: location.password, database: location.database, tls: tls)
            configuration.options.connectTimeout = .nanoseconds(Int64(deadline.components.seconds) * 1_000_000_000)
            let settings = configuration
            // Connected and closed within the deadline: a connection that
            // comes after it is closed too, not left behind.
            try await withDeadline(deadline) {
                let connection = try await PostgresConnection.connect(configuration: settings, id: 0, logger: logger)
                try? await connection.close()
            }
            return nil
        } catch {
            logger.debug("database probe failed", metadata: ["error": "\(String(reflecting: error))"])
            return DatabaseErrors.describe(error, at: location)
        }
    }

    private static func tlsSetting(_ mode: PostgresLocation.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(tlsConfiguration(mode))
        case .require, .verifyFull: .require(tlsConfiguration(mode))
        }
    }

    /// As libpq: only verify-full checks the server's certificate and name.
    private static func tlsConfiguration(_ mode: PostgresLocation.TLSMode) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if mode != .verifyFull { configuration.certificateVerification = .none }
        return configuration
    }

    /// The key every relay sharing the database signs with: made by the first
    /// relay that starts, read by the rest.
    private static func loadSigningKey(_ client: PostgresClient, logger: Logger) async throws -> Curve25519.Signing.PrivateKey {
        let fresh = ByteBuffer(bytes: Curve25519.Signing.PrivateKey().rawRepresentation)
        try await client.query("INSERT INTO p22p_signing_key (id, private_key) VALUES (1, \(fresh)) ON CONFLICT (id) DO NOTHING", logger: logger)
        let rows = try await client.query("SELECT private_key FROM p22p_signing_key WHERE id = 1", logger: logger).collect()
        guard let raw = try rows.first?.decode(ByteBuffer.self) else {
            throw StartError(description: "the signing key vanished while it was read")
        }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: Array(buffer: raw))
    }

    /// Ends the database connections.
    public func close() {
        runner.cancel()
    }

    // MARK: ReservationStore

    public var count: Int { known.withLockedValue { $0.count } }

    public func reserve(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64, holder: String,
                        heldPerAddress: Int) async throws(ReservationFailure) -> Reservation {
        try ReservationRules.requireReservable(group)
        let reservation = try ReservationRules.sign(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey, now: now, key: signingKey)
        let outcome = try await database("reserve \(group)") { client, logger in
            try await client.withTransaction(logger: logger) { connection -> ReserveOutcome in
                // One holder's reservations are counted and added one request
                // at a time, across every relay, or a burst could pass the cap.
                try await connection.query("SELECT pg_advisory_xact_lock(\(ReservationSchema.lockKey), hashtext(\(holder)))", logger: logger)
                let held = try await connection.query(
                    "SELECT count(*) FROM p22p_reservations WHERE holder = \(holder) AND expires > \(now)", logger: logger)
                    .collect().first?.decode(Int.self) ?? 0
                guard held < heldPerAddress else { return .tooMany(held) }
                // The unique name decides: an unexpired row is left alone and
                // nothing comes back, so of two relays racing only one inserts.
                let inserted = try await connection.query("""
                    INSERT INTO p22p_reservations (name, mode, expires, holder)
                    VALUES (\(group), \(reservation.mode), \(reservation.expires), \(holder))
                    ON CONFLICT (name) DO UPDATE SET mode = EXCLUDED.mode, expires = EXCLUDED.expires, holder = EXCLUDED.holder
                    WHERE p22p_reservations.expires <= \(now)
                    RETURNING name
                    """, logger: logger).collect()
                guard inserted.isEmpty else { return .granted }
                let expires = try await connection.query("SELECT expires FROM p22p_reservations WHERE name = \(group)", logger: logger)
                    .collect().first?.decode(Int64.self)
                return .taken(until: expires ?? now)
            }
        }
        switch outcome {
        case .granted:
            known.withLockedValue { $0.count += 1 }
            return reservation
        case .taken(let until): throw ReservationRules.taken(until: until)
        case .tooMany(let held): throw ReservationRules.tooMany(holder: holder, held: held)
        }
    }

    private enum ReserveOutcome: Sendable {
        case granted
        case taken(until: Int64)
        case tooMany(Int)
    }

    public func extend(_ reservation: Reservation, now: Int64) async throws(ReservationFailure) -> Reservation {
        try ReservationRules.requireSigned(reservation, by: signingKey.publicKey, now: now)
        let renewed = try ReservationRules.sign(group: reservation.group, creatorOnly: reservation.creatorOnly,
                                                creatorKey: reservation.creatorKey ?? [], now: now, key: signingKey)
        // The key must be for the name's current record: same mode, and not
        // newer than it. Older copies of the holder's own key stay good until
        // they expire, as with the state directory; a name that expired and
        // was reserved again finds no row for the old key (it has expired).
        let updated = try await database("extend \(reservation.group)") { client, logger in
            // Every row sequence is read to its end: the pool gets the
            // connection back only then.
            let rows = try await client.query("""
                UPDATE p22p_reservations SET expires = \(renewed.expires)
                WHERE name = \(reservation.group) AND mode = \(reservation.mode) AND expires >= \(reservation.expires)
                RETURNING name
                """, logger: logger).collect()
            return !rows.isEmpty
        }
        guard updated else { throw ReservationRules.notOnRecord(reservation.group) }
        return renewed
    }

    public func validate(_ reservation: Reservation, now: Int64) async throws(ReservationFailure) {
        try ReservationRules.requireSigned(reservation, by: signingKey.publicKey, now: now)
        let record = try await database("check the reservation of \(reservation.group)") { client, logger -> Record? in
            let rows = try await client.query("SELECT mode, expires FROM p22p_reservations WHERE name = \(reservation.group)", logger: logger)
                .collect()
            guard let (mode, expires) = try rows.first?.decode((String, Int64).self) else { return nil }
            return Record(mode: mode, expires: expires)
        }
        try ReservationRules.requireCurrent(reservation, recordMode: record?.mode, recordExpires: record?.expires)
    }

    private struct Record: Sendable {
        var mode: String
        var expires: Int64
    }

    // MARK: Reaching the database

    /// Runs `work` within the deadline. A failure becomes the sentence the
    /// member reads, and the first one of an outage is logged once.
    private func database<T: Sendable>(_ what: String, _ work: @escaping @Sendable (PostgresClient, Logger) async throws -> T) async throws(ReservationFailure) -> T {
        let client = self.client
        let libraryLogger = quiet(logger)
        do {
            let result = try await withDeadline(deadline) { try await work(client, libraryLogger) }
            noteReachable()
            return result
        } catch {
            var why = DatabaseErrors.describe(error, at: location)
            if error is DeadlinePassed, let reason = await Self.probe(location, deadline: .seconds(2), logger: libraryLogger) {
                why = reason
            }
            logger.debug("database request failed", metadata: ["request": "\(what)", "error": "\(String(reflecting: error))"])
            noteUnreachable(why)
            throw .storage("the relay cannot reach its reservation database right now (\(why)); reserve, extend and creating # groups work again once it is back. Groups already open are not affected")
        }
    }

    private func noteUnreachable(_ why: String) {
        let first = known.withLockedValue { known in
            defer { known.outage = why }
            return known.outage == nil
        }
        if first {
            logger.warning("lost \(location): \(why); refusing reserve, extend and new # groups until it is back, and routing every open group as before")
        }
    }

    private func noteReachable() {
        let ended = known.withLockedValue { known in
            defer { known.outage = nil }
            return known.outage != nil
        }
        if ended { logger.notice("\(location) is back; reservations work again") }
    }

    /// Counts the unexpired reservations for the gauge, and notices when the
    /// database comes back even if nobody asks for a reservation.
    func refreshCount() async {
        let now = Int64(Date().timeIntervalSince1970)
        if let count = try? await database("count reservations", { client, logger in
            try await client.query("SELECT count(*) FROM p22p_reservations WHERE expires > \(now)", logger: logger)
                .collect().first?.decode(Int.self) ?? 0
        }) {
            known.withLockedValue { $0.count = count }
        }
    }
}

/// The library's own chatter (connection retries, queries) only when tracing:
/// what a person reads about the database comes from this module.
private func quiet(_ logger: Logger) -> Logger {
    var quiet = logger
    quiet.logLevel = logger.logLevel == .trace ? .trace : .critical
    return quiet
}
