@preconcurrency import Crypto
import Foundation
import P22PWire

/// A relay's signed promise that only the member with one static key may
/// create a `#` group. The key file `p22p reserve` writes holds it and that
/// key's private half (`identity`), which never leaves the machine: a create
/// sends only the public part and proves the key over the relay's fresh
/// challenge, so a captured reservation is worth nothing to anyone else.
/// Valid until `expires`; renewable while valid.
public struct Reservation: Codable, Equatable, Sendable {
    public var group: String
    /// `all` (anyone may talk to anyone) or `sco` (creator only).
    public var mode: String
    /// Seconds since 1970 (UTC).
    public var expires: Int64
    /// Hex of the signing relay's Ed25519 public key.
    public var relay: String
    /// Base64 of the creator's static public key: the only key that may create the group.
    public var creator: String
    /// Base64 of the relay's signature over `signedBytes`.
    public var signature: String
    /// Base64 of the creator key's private seed; only in the key file.
    public var identity: String?

    public var creatorOnly: Bool { mode == "sco" }

    public init(group: String, mode: String, expires: Int64, relay: String, creator: String, signature: String, identity: String? = nil) {
        self.group = group
        self.mode = mode
        self.expires = expires
        self.relay = relay
        self.creator = creator
        self.signature = signature
        self.identity = identity
    }

    /// What travels to the relay: everything but the private seed.
    public var publicPart: Reservation {
        var copy = self
        copy.identity = nil
        return copy
    }

    /// The creator key's bytes, if `creator` is one.
    public var creatorKey: [UInt8]? { MemberIdentity.publicKey(fromText: creator) }

    /// The key file's identity, if it holds one that matches `creator`.
    public var creatorIdentity: MemberIdentity? {
        guard let identity, let seed = Data(base64Encoded: identity), let member = try? MemberIdentity(seed: Array(seed)),
              member.publicKey == creatorKey else { return nil }
        return member
    }

    /// Reservations last 90 days, as in the original.
    public static let lifetime: Int64 = 90 * 24 * 3600

    static func signedBytes(group: String, mode: String, expires: Int64, relay: String, creator: String) -> [UInt8] {
        Array("p22p-reservation-v2\n\(group)\n\(mode)\n\(expires)\n\(relay)\n\(creator)".utf8)
    }

    public static func issue(group: String, creatorOnly: Bool, creatorKey: [UInt8], expires: Int64,
                             key: Curve25519.Signing.PrivateKey) throws -> Reservation {
        let relay = key.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined()
        let mode = creatorOnly ? "sco" : "all"
        let creator = MemberIdentity.text(of: creatorKey)
        let signature = try key.signature(for: signedBytes(group: group, mode: mode, expires: expires, relay: relay, creator: creator))
        return Reservation(group: group, mode: mode, expires: expires, relay: relay, creator: creator,
                           signature: signature.base64EncodedString())
    }

    /// Whether `key` signed exactly this reservation.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let signatureBytes = Data(base64Encoded: signature), mode == "all" || mode == "sco" else { return false }
        let expected = key.rawRepresentation.map { String(format: "%02x", $0) }.joined()
        return relay == expected && creatorKey != nil
            && key.isValidSignature(signatureBytes, for: Self.signedBytes(group: group, mode: mode, expires: expires, relay: relay, creator: creator))
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
