import Logging
import PostgresNIO

/// The tables the relays share, created or brought up to date when a relay
/// starts. Each migration runs once, in order; the version reached is kept in
/// `p22p_schema`. Relays starting at the same moment take turns on an
/// advisory lock, so none sees a half-made schema.
enum ReservationSchema {
    /// Migration N brings the schema from version N to N + 1. Append only:
    /// a relay that is already running relies on every earlier step.
    static let migrations: [[PostgresQuery]] = [
        [
            """
            CREATE TABLE p22p_signing_key (
                id smallint PRIMARY KEY CHECK (id = 1),
                private_key bytea NOT NULL CHECK (length(private_key) = 32),
                created timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE p22p_reservations (
                name text PRIMARY KEY,
                mode text NOT NULL CHECK (mode IN ('all', 'sco')),
                expires bigint NOT NULL,
                holder text
            )
            """,
            "CREATE INDEX p22p_reservations_holder ON p22p_reservations (holder, expires)",
        ],
    ]

    static var current: Int { migrations.count }

    /// The advisory lock key of schema changes, and the first key of the
    /// per-holder lock: "p22p" in ASCII.
    static let lockKey: Int32 = 0x7032_3270

    struct TooNew: Error, CustomStringConvertible {
        let found: Int
        var description: String {
            "its p22p schema is version \(found), newer than this relay knows (\(ReservationSchema.current)); upgrade this relay"
        }
    }

    /// Brings the schema to `current`; returns the version it found.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey), 0)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS p22p_schema (version integer NOT NULL)", logger: logger)
            let found = try await connection.query("SELECT version FROM p22p_schema", logger: logger).collect().first?.decode(Int.self)
            if found == nil { try await connection.query("INSERT INTO p22p_schema (version) VALUES (0)", logger: logger) }
            let start = found ?? 0
            guard start <= current else { throw TooNew(found: start) }
            for step in migrations[start...] {
                for statement in step { try await connection.query(statement, logger: logger) }
            }
            if start < current {
                try await connection.query("UPDATE p22p_schema SET version = \(current)", logger: logger)
            }
            return start
        }
    }
}
