import Foundation
import P22PCrypto

/// Reservation key files on disk: read with a clear error, written
/// atomically and readable by their owner only from the first byte (the
/// creator key in it is a secret).
public enum ReservationFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(_ path: String) throws(Failure) -> Reservation {
        guard let data = FileManager.default.contents(atPath: LocalPath.resolve(path)) else { throw Failure(description: "cannot read \(path)") }
        guard let reservation = Reservation.decode(Array(data)) else {
            throw Failure(description: "\(path) is not a p22p reservation key file")
        }
        return reservation
    }

    /// A sentence if other users of this machine can read the key file
    /// (it holds the creator key), else nil.
    public static func exposureWarning(_ path: String) -> String? {
        guard SecretFile.isReadableByOthers(LocalPath.resolve(path)) else { return nil }
        return "the reservation key file \(path) is readable by other users; run chmod 600 \(path)"
    }

    public static func save(_ reservation: Reservation, to path: String) throws(Failure) {
        do {
            try SecretFile.write(reservation.encoded(), to: LocalPath.resolve(path))
        } catch {
            throw Failure(description: error.description)
        }
    }
}
