@preconcurrency import Crypto
import Foundation
import P22PWire

/// The end-to-end key exchange between two members, in two messages.
///
/// Each side sends a fresh X25519 key, its name and its static Ed25519 key,
/// signs the transcript so far with the static key, and MACs it all with the
/// group key. The initiator's transcript binds the group, both CIDs, its
/// name, static and ephemeral keys; the responder's binds a hash of the
/// initiator's message and its own name and keys. Session keys come from the
/// ephemeral DH, salted with the group key, under a hash of both messages.
///
/// So the relay (no group key) cannot take part; a member cannot claim a
/// name it did not sign with its static key; the relay cannot point a name at
/// another member (the peer proves the name it has); and fresh ephemeral keys
/// give forward secrecy and make every session's frames useless in another.
public enum PairHandshake {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Not made with this group's key: another password, or forged.
        case badMAC
        /// Made with the group key but not signed by the static key it names.
        case badSignature
        case badKey

        public var description: String {
            switch self {
            case .badMAC: "it is not authenticated with this group's key (a different password, or forged)"
            case .badSignature: "its signature does not match the static key it names"
            case .badKey: "its key is not a valid X25519 key"
            }
        }
    }

    /// Who this member is in a handshake.
    public struct Local: Sendable {
        public var group: String
        public var groupKey: SymmetricKey
        public var identity: MemberIdentity
        public var name: String
        public var cid: CID

        public init(group: String, groupKey: SymmetricKey, identity: MemberIdentity, name: String, cid: CID) {
            self.group = group
            self.groupKey = groupKey
            self.identity = identity
            self.name = name
            self.cid = cid
        }
    }

    /// What the peer proved: the name and static key it signed.
    public struct PeerProof: Equatable, Sendable {
        public let name: String
        public let staticKey: [UInt8]

        public var keyText: String { MemberIdentity.text(of: staticKey) }
    }

    /// The initiator's pending state between sending `init` and receiving the response.
    public struct Initiator: Sendable {
        let local: Local
        let peer: CID
        let ephemeral: Curve25519.KeyAgreement.PrivateKey
        public let message: HandshakeMessage

        public init(_ local: Local, peer: CID) {
            self.init(local, peer: peer, ephemeral: Curve25519.KeyAgreement.PrivateKey())
        }

        init(_ local: Local, peer: CID, ephemeral: Curve25519.KeyAgreement.PrivateKey) {
            self.local = local
            self.peer = peer
            self.ephemeral = ephemeral
            let transcript = PairHandshake.initTranscript(
                group: local.group, initiator: local.cid, responder: peer, name: local.name,
                staticKey: local.identity.publicKey, ephemeralKey: Array(ephemeral.publicKey.rawRepresentation))
            self.message = PairHandshake.finishMessage(transcript, ephemeral: ephemeral, local: local)
        }

        public func finish(_ response: HandshakeMessage) throws(Failure) -> (SessionKeys, PeerProof) {
            let transcript = PairHandshake.responseTranscript(initMessage: message, initTranscript: PairHandshake.initTranscript(local: local, peer: peer, message: message), response: response)
            try PairHandshake.check(response, transcript: transcript, groupKey: local.groupKey)
            let keys = try PairHandshake.sessionKeys(
                ephemeral: ephemeral, peerEphemeral: response.ephemeralKey, groupKey: local.groupKey,
                finalTranscript: transcript + response.signature, isInitiator: true)
            return (keys, PeerProof(name: response.name, staticKey: response.staticKey))
        }
    }

    /// Answers an `init` from `peer`; returns the response, the keys and what the peer proved.
    public static func respond(to initMessage: HandshakeMessage, from peer: CID, as local: Local) throws(Failure)
        -> (HandshakeMessage, SessionKeys, PeerProof) {
        try respond(to: initMessage, from: peer, as: local, ephemeral: Curve25519.KeyAgreement.PrivateKey())
    }

    static func respond(to initMessage: HandshakeMessage, from peer: CID, as local: Local,
                        ephemeral: Curve25519.KeyAgreement.PrivateKey) throws(Failure) -> (HandshakeMessage, SessionKeys, PeerProof) {
        let initTranscript = initTranscript(
            group: local.group, initiator: peer, responder: local.cid, name: initMessage.name,
            staticKey: initMessage.staticKey, ephemeralKey: initMessage.ephemeralKey)
        try check(initMessage, transcript: initTranscript, groupKey: local.groupKey)
        let unsigned = HandshakeMessage(
            ephemeralKey: Array(ephemeral.publicKey.rawRepresentation), staticKey: local.identity.publicKey,
            name: local.name, signature: [], mac: [])
        let transcript = responseTranscript(initMessage: initMessage, initTranscript: initTranscript, response: unsigned)
        let response = finishMessage(transcript, ephemeral: ephemeral, local: local)
        let keys = try sessionKeys(
            ephemeral: ephemeral, peerEphemeral: initMessage.ephemeralKey, groupKey: local.groupKey,
            finalTranscript: transcript + response.signature, isInitiator: false)
        return (response, keys, PeerProof(name: initMessage.name, staticKey: initMessage.staticKey))
    }

    // MARK: Transcripts

    static func initTranscript(group: String, initiator: CID, responder: CID, name: String,
                               staticKey: [UInt8], ephemeralKey: [UInt8]) -> [UInt8] {
        var bytes = Array("p22p-pair-init-v2".utf8)
        bytes.append(UInt8(group.utf8.count))
        bytes += Array(group.utf8)
        bytes += [UInt8(initiator.rawValue >> 8), UInt8(initiator.rawValue & 0xFF)]
        bytes += [UInt8(responder.rawValue >> 8), UInt8(responder.rawValue & 0xFF)]
        bytes.append(UInt8(name.utf8.count))
        bytes += Array(name.utf8)
        return bytes + staticKey + ephemeralKey
    }

    static func initTranscript(local: Local, peer: CID, message: HandshakeMessage) -> [UInt8] {
        initTranscript(group: local.group, initiator: local.cid, responder: peer, name: local.name,
                       staticKey: message.staticKey, ephemeralKey: message.ephemeralKey)
    }

    /// The response's transcript starts with a hash of the whole init
    /// (transcript and signature), so it answers exactly that init.
    static func responseTranscript(initMessage: HandshakeMessage, initTranscript: [UInt8], response: HandshakeMessage) -> [UInt8] {
        var bytes = Array("p22p-pair-resp-v2".utf8)
        bytes += Array(SHA256.hash(data: initTranscript + initMessage.signature))
        bytes.append(UInt8(response.name.utf8.count))
        bytes += Array(response.name.utf8)
        return bytes + response.staticKey + response.ephemeralKey
    }

    static func finishMessage(_ transcript: [UInt8], ephemeral: Curve25519.KeyAgreement.PrivateKey, local: Local) -> HandshakeMessage {
        let signature = local.identity.sign(transcript)
        let mac = Array(HMAC<SHA256>.authenticationCode(for: transcript + signature, using: local.groupKey))
        return HandshakeMessage(ephemeralKey: Array(ephemeral.publicKey.rawRepresentation), staticKey: local.identity.publicKey,
                                name: local.name, signature: signature, mac: mac)
    }

    /// The MAC first (cheap, and it proves the group), then the signature.
    static func check(_ message: HandshakeMessage, transcript: [UInt8], groupKey: SymmetricKey) throws(Failure) {
        guard HMAC<SHA256>.isValidAuthenticationCode(message.mac, authenticating: transcript + message.signature, using: groupKey) else {
            throw .badMAC
        }
        guard MemberIdentity.isValid(signature: message.signature, of: transcript, by: message.staticKey) else { throw .badSignature }
    }

    static func sessionKeys(ephemeral: Curve25519.KeyAgreement.PrivateKey, peerEphemeral: [UInt8], groupKey: SymmetricKey,
                            finalTranscript: [UInt8], isInitiator: Bool) throws(Failure) -> SessionKeys {
        guard let peerKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerEphemeral),
              let shared = try? ephemeral.sharedSecretFromKeyAgreement(with: peerKey) else { throw .badKey }
        return SessionKeys(shared: shared, groupKey: groupKey, transcriptHash: Array(SHA256.hash(data: finalTranscript)), isInitiator: isInitiator)
    }
}

/// One key per direction, from the DH secret salted with the group key and
/// bound to the hash of the whole handshake.
public struct SessionKeys: Sendable {
    public let sending: SymmetricKey
    public let receiving: SymmetricKey

    init(shared: SharedSecret, groupKey: SymmetricKey, transcriptHash: [UInt8], isInitiator: Bool) {
        let info = Array("p22p-pair-session-v2".utf8) + transcriptHash
        let salt = groupKey.withUnsafeBytes { Array($0) }
        let material = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: salt, sharedInfo: info, outputByteCount: 64)
        let bytes = material.withUnsafeBytes { Array($0) }
        let initiatorToResponder = SymmetricKey(data: bytes[0..<32])
        let responderToInitiator = SymmetricKey(data: bytes[32..<64])
        sending = isInitiator ? initiatorToResponder : responderToInitiator
        receiving = isInitiator ? responderToInitiator : initiatorToResponder
    }
}
