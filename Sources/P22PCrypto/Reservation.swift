@preconcurrency import Crypto
import Foundation
import P22PWire

/// A relay's signed promise that only the holder may create a `#` group: the
/// key file `p22p reserve` writes. Valid until `expires`; renewable while valid.
public struct Reservation: Codable, Equatable, Sendable {
    public var group: String
    /// `all` (anyone may talk to anyone) or `sco` (creator only).
    public var mode: String
    /// Seconds since 1970 (UTC).
    public var expires: Int64
    /// Hex of the signing relay's Ed25519 public key.
    public var relay: String
    /// Base64 of the relay's signature over `signedBytes`.
    public var signature: String

    public var creatorOnly: Bool { mode == "sco" }

    public init(group: String, mode: String, expires: Int64, relay: String, signature: String) {
        self.group = group
        self.mode = mode
        self.expires = expires
        self.relay = relay
        self.signature = signature
    }

    /// Reservations last 90 days, as in the original.
    public static let lifetime: Int64 = 90 * 24 * 3600

    static func signedBytes(group: String, mode: String, expires: Int64, relay: String) -> [UInt8] {
        Array("p22p-reservation-v1\n\(group)\n\(mode)\n\(expires)\n\(relay)".utf8)
    }

    public static func issue(group: String, creatorOnly: Bool, expires: Int64, key: Curve25519.Signing.PrivateKey) throws -> Reservation {
        let relay = key.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined()
        let mode = creatorOnly ? "sco" : "all"
        let signature = try key.signature(for: signedBytes(group: group, mode: mode, expires: expires, relay: relay))
        return Reservation(group: group, mode: mode, expires: expires, relay: relay, signature: signature.base64EncodedString())
    }

    /// Whether `key` signed exactly this reservation.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let signatureBytes = Data(base64Encoded: signature), mode == "all" || mode == "sco" else { return false }
        let expected = key.rawRepresentation.map { String(format: "%02x", $0) }.joined()
        return relay == expected
            && key.isValidSignature(signatureBytes, for: Self.signedBytes(group: group, mode: mode, expires: expires, relay: relay))
    }

    /// The key file's bytes: small, stable JSON.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data()) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8]) -> Reservation? {
        try? JSONDecoder().decode(Reservation.self, from: Data(bytes))
    }

    public var expiryDescription: String { Self.describeExpiry(expires) }

    /// A Unix time as the ISO 8601 date used in every message about expiry.
    public static func describeExpiry(_ expires: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(expires)))
    }
}
