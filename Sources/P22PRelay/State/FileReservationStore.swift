@preconcurrency import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import P22PCrypto
import P22PWire

/// A single relay's reservations and the key that signs them, kept in the
/// state directory so both survive a restart. Every change is written to a
/// temporary file, flushed to disk, and renamed over the old one: a crash at
/// any moment leaves either the old state or the new, never a torn file.
final class FileReservationStore: ReservationStore, @unchecked Sendable {  // every mutable field is read and written under `lock`
    private struct Record: Codable {
        var mode: String
        var expires: Int64
        /// The client address that reserved it, for the per-address cap.
        /// Records written before there was a cap have none.
        var holder: String?
    }

    /// Guards `records`, held only to read or swap them: validating a key
    /// never waits for a disk.
    private let lock = NIOLock()
    /// Serializes changes (sign, write, fsync, swap), off the event loops.
    private let writer = NIOLock()
    private let directory: String?
    /// Where writes and fsyncs wait, never on an event loop.
    private let blockingIO: NIOThreadPool
    let signingKey: Curve25519.Signing.PrivateKey
    private var records: [String: Record]

    /// With no directory, reservations live only as long as the process.
    init(directory: String?, blockingIO: NIOThreadPool = .singleton) throws {
        self.directory = directory
        self.blockingIO = blockingIO
        guard let directory else {
            signingKey = Curve25519.Signing.PrivateKey()
            records = [:]
            return
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        // A file that exists but cannot be read is an error, never a reason
        // to start afresh: that would void every key issued or free every name.
        let keyPath = directory + "/signing.key"
        if let raw = try Self.read(keyPath) {
            guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
                throw StorageError(path: keyPath, message: "damaged (not a 32-byte Ed25519 key)")
            }
            signingKey = key
        } else {
            signingKey = Curve25519.Signing.PrivateKey()
            try Self.writeAtomically(Array(signingKey.rawRepresentation), to: keyPath, mode: 0o600)
        }
        let recordsPath = directory + "/reservations.json"
        if let data = try Self.read(recordsPath) {
            guard let decoded = try? JSONDecoder().decode([String: Record].self, from: data) else {
                throw StorageError(path: recordsPath, message: "damaged (not the relay's JSON)")
            }
            records = decoded
        } else {
            records = [:]
        }
    }

    func reserve(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64, holder: String,
                 heldPerAddress: Int) async throws(ReservationFailure) -> Reservation {
        try ReservationRules.requireReservable(group)
        return try await offLoop { () throws(ReservationFailure) in
            try self.reserveNow(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey, now: now, holder: holder,
                                heldPerAddress: heldPerAddress)
        }
    }

    func extend(_ reservation: Reservation, now: Int64) async throws(ReservationFailure) -> Reservation {
        try await offLoop { () throws(ReservationFailure) in try self.extendNow(reservation, now: now) }
    }

    func validate(_ reservation: Reservation, now: Int64) throws(ReservationFailure) {
        try ReservationRules.requireSigned(reservation, by: signingKey.publicKey, now: now)
        let record = lock.withLock { records[reservation.group] }
        try ReservationRules.requireCurrent(reservation, recordMode: record?.mode, recordExpires: record?.expires)
    }

    var count: Int { lock.withLock { records.count } }

    /// The blocking part, run where waiting for a disk stalls no connection.
    func reserveNow(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64, holder: String,
                    heldPerAddress: Int = .max) throws(ReservationFailure) -> Reservation {
        try ReservationRules.requireReservable(group)
        writer.lock()
        defer { writer.unlock() }
        let current = lock.withLock { records }
        if let existing = current[group], existing.expires > now {
            throw ReservationRules.taken(until: existing.expires)
        }
        let held = current.values.filter { $0.holder == holder && $0.expires > now }.count
        guard held < heldPerAddress else { throw ReservationRules.tooMany(holder: holder, held: held) }
        return try issue(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey, now: now, holder: holder)
    }

    func extendNow(_ reservation: Reservation, now: Int64) throws(ReservationFailure) -> Reservation {
        writer.lock()
        defer { writer.unlock() }
        try validate(reservation, now: now)
        // `validate` checked the signature, which covers the creator key.
        // Renewing keeps the name with whoever reserved it.
        let holder = lock.withLock { records[reservation.group]?.holder }
        return try issue(group: reservation.group, creatorOnly: reservation.creatorOnly, creatorKey: reservation.creatorKey ?? [], now: now,
                         holder: holder)
    }

    private func offLoop(_ work: @escaping @Sendable () throws(ReservationFailure) -> Reservation) async throws(ReservationFailure) -> Reservation {
        do {
            return try await blockingIO.runIfActive { try work() }
        } catch let failure as ReservationFailure {
            throw failure
        } catch {
            throw .storage("the relay cannot store reservations right now: \(error)")
        }
    }

    /// Signs a reservation for a full lifetime from `now` and records it,
    /// dropping expired records on the way. Called with `writer` held.
    private func issue(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64, holder: String?) throws(ReservationFailure) -> Reservation {
        let reservation = try ReservationRules.sign(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey, now: now, key: signingKey)
        var updated = lock.withLock { records }.filter { $0.value.expires > now }
        updated[group] = Record(mode: reservation.mode, expires: reservation.expires, holder: holder)
        try persist(updated)
        lock.withLock { records = updated }
        return reservation
    }

    private func persist(_ updated: [String: Record]) throws(ReservationFailure) {
        guard let directory else { return }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try Self.writeAtomically(Array(try encoder.encode(updated)), to: directory + "/reservations.json", mode: 0o600)
        } catch {
            throw .storage("cannot save reservations: \(error)")
        }
    }

    /// The file's bytes, nil if it does not exist; any other failure throws.
    static func read(_ path: String) throws -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StorageError(path: path, message: "cannot be read (check its permissions)")
        }
        return data
    }

    /// write to a temporary file, fsync it, rename it into place, fsync the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { throw StorageError(path: temporary, errno: errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                close(descriptor)
                throw StorageError(path: temporary, errno: errno)
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            close(descriptor)
            throw StorageError(path: temporary, errno: errno)
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw StorageError(path: path, errno: errno) }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}

struct StorageError: Error, CustomStringConvertible {
    let path: String
    let message: String

    init(path: String, errno: Int32) {
        self.path = path
        self.message = String(cString: strerror(errno))
    }

    init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    var description: String { "\(path): \(message)" }
}
