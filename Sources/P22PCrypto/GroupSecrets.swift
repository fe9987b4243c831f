import P22PWire
@preconcurrency import Crypto
import _CryptoExtras
import Foundation

/// The two keys a member derives from the group password.
///
/// scrypt(password, label + group) gives a master secret; HKDF splits it into
/// an Ed25519 *auth key*, whose public half the relay keeps to check joins, and
/// a *group key* that authenticates member-to-member handshakes and never leaves
/// the members' machines. The relay therefore can admit members but cannot
/// read or forge their traffic.
public struct GroupSecrets: Sendable {
    public let group: String
    public let authKey: Curve25519.Signing.PrivateKey
    public let groupKey: SymmetricKey

    public var authPublicKey: [UInt8] { Array(authKey.publicKey.rawRepresentation) }

    public init(password: String, group: String, parameters: KDFParameters = .standard) throws {
        let salt = Array("p22p-group-v1:".utf8) + Array(group.utf8)
        let master = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32,
            rounds: parameters.rounds, blockSize: parameters.blockSize, parallelism: parameters.parallelism)
        let authSeed = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Array("p22p-auth-key-v1".utf8), outputByteCount: 32)
        self.group = group
        self.authKey = try authSeed.withUnsafeBytes { try Curve25519.Signing.PrivateKey(rawRepresentation: $0) }
        self.groupKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Array("p22p-group-key-v1".utf8), outputByteCount: 32)
    }

    /// Signs the relay's challenge for `create` or `join`.
    public func sign(challenge: [UInt8], create: Bool, name: String) throws -> [UInt8] {
        let transcript = AuthTranscript.bytes(challenge: challenge, create: create, group: group, name: name)
        return Array(try authKey.signature(for: transcript))
    }
}
