@preconcurrency import Crypto
import Foundation

/// A member's static key: an Ed25519 key pair that proves who the member is
/// to its peers (in the pair handshake) and to the relay (when it replaces a
/// stale session or claims the creator role). Fresh per process unless it is
/// kept in an identity file, so a peer can pin it.
public struct MemberIdentity: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init() { privateKey = Curve25519.Signing.PrivateKey() }

    public init(seed: [UInt8]) throws {
        privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    public var publicKey: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    /// How a public key is written for people: in `peer_key:`, in logs, by `p22p identity`.
    public var publicKeyText: String { Self.text(of: publicKey) }

    public static func text(of publicKey: [UInt8]) -> String { Data(publicKey).base64EncodedString() }

    /// Parses a public key as `publicKeyText` writes it; nil if it is not one.
    public static func publicKey(fromText text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)), data.count == 32,
              (try? Curve25519.Signing.PublicKey(rawRepresentation: data)) != nil else { return nil }
        return Array(data)
    }

    /// The private seed as text, for key files only.
    public var seedText: String { Data(privateKey.rawRepresentation).base64EncodedString() }

    public func sign(_ bytes: [UInt8]) -> [UInt8] {
        // Ed25519 signing of a byte array cannot fail.
        Array(try! privateKey.signature(for: bytes))
    }

    public static func isPublicKey(_ bytes: [UInt8]) -> Bool {
        (try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)) != nil
    }

    public static func isValid(signature: [UInt8], of bytes: [UInt8], by publicKey: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: bytes)
    }

    // MARK: Identity files

    public static let fileHeader = "p22p-identity-v1"

    /// The identity file's text: a header line, the private seed, and the
    /// public key as a comment so `cat` shows what to pin.
    public func fileText() -> String {
        "\(Self.fileHeader)\n\(seedText)\n# public key: \(publicKeyText)\n"
    }

    /// Parses `fileText()`; nil if the text is not an identity file.
    public static func parse(fileText text: String) -> MemberIdentity? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first == fileHeader, lines.count >= 2, let seed = Data(base64Encoded: lines[1]), seed.count == 32 else {
            return nil
        }
        return try? MemberIdentity(seed: Array(seed))
    }
}
