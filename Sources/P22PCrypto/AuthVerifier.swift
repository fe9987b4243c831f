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

    public func verify(_ request: AuthRequest, challenge: [UInt8], create: Bool) -> Bool {
        let transcript = AuthTranscript.bytes(challenge: challenge, create: create, group: request.group, name: request.name)
        return publicKey.isValidSignature(request.signature, for: transcript)
    }

    /// The same public key, so `create` and later `join`s are compared as bytes.
    public var rawRepresentation: [UInt8] { Array(publicKey.rawRepresentation) }
}
