@preconcurrency import Crypto
import P22PCrypto
import P22PWire

/// Why a reservation was not made, extended or accepted.
public enum ReservationFailure: Error, Equatable, Sendable {
    case notReservable(String)
    case taken(until: String)
    case invalid(String)
    case expired(String)
    /// The store cannot be written or reached (a full disk, a lost database):
    /// nothing about the name itself was decided.
    case storage(String)
    /// The requesting address holds as many reservations as it may.
    case tooMany(String)

    /// The code a refusal for it carries.
    var refusalCode: RefusalCode {
        if case .tooMany = self { return .rateLimited }
        return .reservedName
    }

    /// The sentence the member reads.
    public var message: String {
        switch self {
        case .notReservable(let why), .invalid(let why), .expired(let why), .storage(let why), .tooMany(let why): why
        case .taken(let until): "that name is already reserved until \(until)"
        }
    }
}

/// Where a relay keeps its reservations and the key that signs them: a state
/// directory for one relay (`FileReservationStore`), or a database that
/// several relays behind a load balancer share. Each call may wait for a disk
/// or a database, so the relay never makes one on an event loop's thread.
public protocol ReservationStore: Sendable {
    /// A new reservation for `holder`, the client address, who may hold at
    /// most `heldPerAddress` unexpired ones; only `creatorKey` may create the
    /// group. Two relays sharing a store never both grant one name.
    func reserve(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64, holder: String,
                 heldPerAddress: Int) async throws(ReservationFailure) -> Reservation

    /// The reservation renewed for a full lifetime from `now`, if it is the
    /// current one for its name.
    func extend(_ reservation: Reservation, now: Int64) async throws(ReservationFailure) -> Reservation

    /// Whether `reservation` is one this store's key signed, unexpired and
    /// still on record.
    func validate(_ reservation: Reservation, now: Int64) async throws(ReservationFailure)

    /// Reservations on record, for the gauge; the last known figure if the
    /// store cannot be asked right now.
    var count: Int { get }
}

/// The checks every store makes the same way, whatever it keeps records in.
public enum ReservationRules {
    /// Only `#` names can be reserved; checked before any storage is touched.
    public static func requireReservable(_ group: String) throws(ReservationFailure) {
        guard group.hasPrefix("#"), group.count > 1 else { throw .notReservable("only names starting with '#' can be reserved") }
    }

    /// Signed by `key` and not expired: what can be known without the records.
    public static func requireSigned(_ reservation: Reservation, by key: Curve25519.Signing.PublicKey, now: Int64) throws(ReservationFailure) {
        guard reservation.isSigned(by: key) else { throw .invalid("the reservation was not signed by this relay") }
        guard reservation.expires > now else { throw .expired("the reservation of \(reservation.group) expired on \(reservation.expiryDescription)") }
    }

    /// The record of the name still says what the reservation says: a
    /// renewed key supersedes older copies of it.
    public static func requireCurrent(_ reservation: Reservation, recordMode: String?, recordExpires: Int64?) throws(ReservationFailure) {
        guard let recordMode, let recordExpires, recordExpires >= reservation.expires, recordMode == reservation.mode else {
            throw notOnRecord(reservation.group)
        }
    }

    public static func notOnRecord(_ group: String) -> ReservationFailure {
        .invalid("this relay has no such reservation of \(group) (superseded or unknown)")
    }

    /// A reservation signed by `key` for a full lifetime from `now`.
    public static func sign(group: String, creatorOnly: Bool, creatorKey: [UInt8], now: Int64,
                            key: Curve25519.Signing.PrivateKey) throws(ReservationFailure) -> Reservation {
        do {
            return try Reservation.issue(group: group, creatorOnly: creatorOnly, creatorKey: creatorKey,
                                         expires: now + Reservation.lifetime, key: key)
        } catch {
            throw .storage("cannot sign: \(error)")
        }
    }

    /// The refusal for a name someone else holds.
    public static func taken(until expires: Int64) -> ReservationFailure {
        .taken(until: Reservation.describeExpiry(expires))
    }

    public static func tooMany(holder: String, held: Int) -> ReservationFailure {
        .tooMany("\(holder) already holds \(held) reservations, the most this relay allows per address; extend those you use and let the others expire")
    }
}
