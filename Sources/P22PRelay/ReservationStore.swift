@preconcurrency import Crypto
import Foundation
import NIOConcurrencyHelpers
import P22PCrypto
import P22PWire

/// The relay's reservations and the key that signs them, kept in the state
/// directory so both survive a restart. Every change is written to a
/// temporary file, flushed to disk, and renamed over the old one: a crash at
/// any moment leaves either the old state or the new, never a torn file.
final class ReservationStore: @unchecked Sendable {  // every mutable field is read and written under `lock`
    enum Failure: Error, Equatable {
        case notReservable(String)
        case taken(until: String)
        case invalid(String)
        case expired(String)
        case storage(String)
        /// The requesting address holds as many reservations as it may.
        case tooMany(String)

        /// The code a refusal for it carries.
        var refusalCode: RefusalCode {
            if case .tooMany = self { return .rateLimited }
            return .reservedName
        }
    }

    private struct Record: Codable {
        var mode: String
        var expires: Int64
        /// The client address that reserved it, for the per-address cap.
        /// Records written before there was a cap have none.
        var holder: String?
    }

    /// Guards `records`, held only to read or swap them: validating a key on
    /// an event loop never waits for a disk.
    private let lock = NIOLock()
    /// Serializes changes (sign, write, fsync, swap), off the event loops.
    private let writer = NIOLock()
    private let directory: String?
    let signingKey: Curve25519.Signing.PrivateKey
    private var records: [String: Record]

    /// With no directory, reservations live only as long as the process.
    init(directory: String?) throws {
        self.directory = directory
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

    /// A new reservation for `holder`, the client address, who may hold at
    /// most `heldPerAddress` unexpired ones; only `creatorKey` may create the group.
    func reserve(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64, holder: String,
                 heldPerAddress: Int = .max) throws(Failure) -> Reservation {
        guard group.hasPrefix("#"), group.count > 1 else { throw .notReservable("only names starting with '#' can be reserved") }
        writer.lock()
        defer { writer.unlock() }
        let current = lock.withLock { records }
        if let existing = current[group], existing.expires > now {
            throw .taken(until: Reservation.describeExpiry(existing.expires))
        }
        let held = current.values.filter { $0.holder == holder && $0.expires > now }.count
        guard held < heldPerAddress else {
            throw .tooMany("\(holder) already holds \(held) reservations, the most this relay allows per address; extend those you use and let the others expire")
        }
        return try issue(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey, now: now, holder: holder)
    }

    func extend(_ reservation: Reservation, now: Int64) throws(Failure) -> Reservation {
        writer.lock()
        defer { writer.unlock() }
        try validate(reservation, now: now)
        // `validate` checked the signature, which covers the creator key.
        // Renewing keeps the name with whoever reserved it.
        let holder = lock.withLock { records[reservation.group]?.holder }
        return try issue(group: reservation.group, creatorOnly: reservation.creatorOnly, creatorKey: reservation.creatorKey ?? [], now: now,
                         holder: holder)
    }

    /// Signs a reservation for a full lifetime from `now` and records it,
    /// dropping expired records on the way. Called with `writer` held.
    private func issue(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64, holder: String?) throws(Failure) -> Reservation {
        let reservation: Reservation
        do {
            reservation = try Reservation.issue(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey,
                                                expires: now + Reservation.lifetime, key: signingKey)
        } catch {
            throw .storage("cannot sign: \(error)")
        }
        var updated = lock.withLock { records }.filter { $0.value.expires > now }
        updated[group] = Record(mode: reservation.mode, expires: reservation.expires, holder: holder)
        try persist(updated)
        lock.withLock { records = updated }
        return reservation
    }

    /// A reservation this relay signed, still valid and still on record.
    func validate(_ reservation: Reservation, now: Int64) throws(Failure) {
        guard reservation.isSigned(by: signingKey.publicKey) else { throw .invalid("the reservation was not signed by this relay") }
        guard reservation.expires > now else { throw .expired("the reservation of \(reservation.group) expired on \(reservation.expiryDescription)") }
        let record = lock.withLock { records[reservation.group] }
        guard let record, record.expires >= reservation.expires, record.mode == reservation.mode else {
            throw .invalid("this relay has no such reservation of \(reservation.group) (superseded or unknown)")
        }
    }

    var count: Int { lock.withLock { records.count } }

    private func persist(_ updated: [String: Record]) throws(Failure) {
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
