@preconcurrency import Crypto
import P22PWire

/// The relay's side of membership proof: the public auth key stored when the
/// group was created, checked against a fresh challenge on every join.
public struct AuthVerifier: Sendable {
    public let publicKey: Curve25519.Signing.PublicKey

    public init?(publicKey bytes: [UInt8]) {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else { return nil }
        self.publicKey = key
    }

    /// Whether the request proves the password for this challenge.
    public func verify(_ request: AuthRequest, challenge: [UInt8]) -> Bool {
        publicKey.isValidSignature(request.signature, for: request.transcript(challenge: challenge))
    }

    /// Whether the request proves its member key for this challenge.
    public static func verifyMemberKey(_ request: AuthRequest, challenge: [UInt8]) -> Bool {
        MemberIdentity.isValid(signature: request.memberSignature, of: request.transcript(challenge: challenge), by: request.memberKey)
    }

    /// The same public key, so `create` and later `join`s are compared as bytes.
    public var rawRepresentation: [UInt8] { Array(publicKey.rawRepresentation) }
}
