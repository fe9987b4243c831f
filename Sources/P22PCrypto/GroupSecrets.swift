import P22PWire
@preconcurrency import Crypto
import _CryptoExtras
import Foundation

/// The two keys a member derives from the group password.
///
/// scrypt(password, label + group + the group's random salt) gives a master
/// secret; HKDF splits it into an Ed25519 *auth key*, whose public half the
/// relay keeps to check joins, and a *group key* that authenticates
/// member-to-member handshakes and never leaves the members' machines. The
/// relay therefore can admit members but cannot read or forge their traffic.
public struct GroupSecrets: Sendable {
    public let group: String
    public let derivation: KeyDerivation
    public let authKey: Curve25519.Signing.PrivateKey
    public let groupKey: SymmetricKey

    public var authPublicKey: [UInt8] { Array(authKey.publicKey.rawRepresentation) }

    public init(password: String, group: String, derivation: KeyDerivation) throws {
        // The group name stays in the salt: a relay that hands out one salt
        // to every group still needs a table per group name.
        let salt = Array("p22p-group-v2:".utf8) + [UInt8(group.utf8.count)] + Array(group.utf8) + derivation.salt
        let master = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32,
            rounds: 1 << Int(derivation.logN), blockSize: Int(derivation.blockSize), parallelism: Int(derivation.parallelism))
        let authSeed = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Array("p22p-auth-key-v1".utf8), outputByteCount: 32)
        self.group = group
        self.derivation = derivation
        self.authKey = try authSeed.withUnsafeBytes { try Curve25519.Signing.PrivateKey(rawRepresentation: $0) }
        self.groupKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Array("p22p-group-key-v1".utf8), outputByteCount: 32)
    }

    /// A fresh random salt for a group being created.
    public static func newSalt() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<KeyDerivation.saltSize).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Signs a create or join for the relay's challenge: the password's auth
    /// key and the member's static key sign the same transcript.
    public func sign(_ request: inout AuthRequest, challenge: [UInt8], identity: MemberIdentity) throws {
        let transcript = request.transcript(challenge: challenge)
        request.signature = Array(try authKey.signature(for: transcript))
        request.memberSignature = identity.sign(transcript)
    }
}
