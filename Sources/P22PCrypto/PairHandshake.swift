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
        /// The response resumes a session the init did not offer.
        case wrongResumption

        public var description: String {
            switch self {
            case .badMAC: "it is not authenticated with this group's key (a different password, or forged)"
            case .badSignature: "its signature does not match the static key it names"
            case .badKey: "its key is not a valid X25519 key"
            case .wrongResumption: "it resumes a session this side did not offer"
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
        /// The earlier session this handshake offers to resume, if any.
        public let ticket: ResumptionTicket?
        public let message: HandshakeMessage

        public init(_ local: Local, peer: CID, resuming ticket: ResumptionTicket? = nil) {
            self.init(local, peer: peer, resuming: ticket, ephemeral: Curve25519.KeyAgreement.PrivateKey())
        }

        init(_ local: Local, peer: CID, resuming ticket: ResumptionTicket? = nil, ephemeral: Curve25519.KeyAgreement.PrivateKey) {
            self.local = local
            self.peer = peer
            self.ticket = ticket
            self.ephemeral = ephemeral
            let transcript = PairHandshake.initTranscript(
                group: local.group, initiator: local.cid, responder: peer, name: local.name,
                staticKey: local.identity.publicKey, ephemeralKey: Array(ephemeral.publicKey.rawRepresentation),
                resume: ticket?.id ?? [])
            self.message = PairHandshake.finishMessage(transcript, ephemeral: ephemeral, local: local, resume: ticket?.id ?? [])
        }

        /// The keys, what the peer proved, and whether the peer resumed the
        /// offered session (an empty echo: it no longer has it).
        public func finish(_ response: HandshakeMessage) throws(Failure) -> (SessionKeys, PeerProof, resumed: Bool) {
            let resumed: ResumptionTicket?
            if response.resume.isEmpty {
                resumed = nil
            } else if let ticket, response.resume == ticket.id {
                resumed = ticket
            } else {
                throw .wrongResumption
            }
            let transcript = PairHandshake.responseTranscript(initMessage: message, initTranscript: PairHandshake.initTranscript(local: local, peer: peer, message: message), response: response)
            try PairHandshake.check(response, transcript: transcript, groupKey: local.groupKey)
            let keys = try PairHandshake.sessionKeys(
                ephemeral: ephemeral, peerEphemeral: response.ephemeralKey, groupKey: local.groupKey,
                finalTranscript: transcript + response.signature, isInitiator: true, resuming: resumed)
            return (keys, PeerProof(name: response.name, staticKey: response.staticKey), resumed != nil)
        }
    }

    /// Answers an `init` from `peer`; returns the response, the keys and what
    /// the peer proved. `ticket` finds the earlier session an init offers to
    /// resume; without it (or when it is not found) the session starts afresh.
    public static func respond(to initMessage: HandshakeMessage, from peer: CID, as local: Local,
                               ticket: (([UInt8]) -> ResumptionTicket?)? = nil) throws(Failure)
        -> (HandshakeMessage, SessionKeys, PeerProof, resumed: Bool) {
        try respond(to: initMessage, from: peer, as: local, ticket: ticket, ephemeral: Curve25519.KeyAgreement.PrivateKey())
    }

    static func respond(to initMessage: HandshakeMessage, from peer: CID, as local: Local,
                        ticket: (([UInt8]) -> ResumptionTicket?)? = nil,
                        ephemeral: Curve25519.KeyAgreement.PrivateKey) throws(Failure) -> (HandshakeMessage, SessionKeys, PeerProof, resumed: Bool) {
        let initTranscript = initTranscript(
            group: local.group, initiator: peer, responder: local.cid, name: initMessage.name,
            staticKey: initMessage.staticKey, ephemeralKey: initMessage.ephemeralKey, resume: initMessage.resume)
        try check(initMessage, transcript: initTranscript, groupKey: local.groupKey)
        // Only once the init is proven: a forged one must not learn whether a ticket exists.
        let resumed = initMessage.resume.isEmpty ? nil : ticket?(initMessage.resume)
        let unsigned = HandshakeMessage(
            ephemeralKey: Array(ephemeral.publicKey.rawRepresentation), staticKey: local.identity.publicKey,
            name: local.name, signature: [], mac: [], resume: resumed?.id ?? [])
        let transcript = responseTranscript(initMessage: initMessage, initTranscript: initTranscript, response: unsigned)
        let response = finishMessage(transcript, ephemeral: ephemeral, local: local, resume: resumed?.id ?? [])
        let keys = try sessionKeys(
            ephemeral: ephemeral, peerEphemeral: initMessage.ephemeralKey, groupKey: local.groupKey,
            finalTranscript: transcript + response.signature, isInitiator: false, resuming: resumed)
        return (response, keys, PeerProof(name: initMessage.name, staticKey: initMessage.staticKey), resumed != nil)
    }

    // MARK: Transcripts

    /// A resumption id, when offered, ends the transcript: signed and MACed,
    /// so the relay can neither add nor strip it.
    static func initTranscript(group: String, initiator: CID, responder: CID, name: String,
                               staticKey: [UInt8], ephemeralKey: [UInt8], resume: [UInt8] = []) -> [UInt8] {
        var bytes = Array("p22p-pair-init-v2".utf8)
        bytes.append(UInt8(group.utf8.count))
        bytes += Array(group.utf8)
        bytes += [UInt8(initiator.rawValue >> 8), UInt8(initiator.rawValue & 0xFF)]
        bytes += [UInt8(responder.rawValue >> 8), UInt8(responder.rawValue & 0xFF)]
        bytes.append(UInt8(name.utf8.count))
        bytes += Array(name.utf8)
        return bytes + staticKey + ephemeralKey + resume
    }

    static func initTranscript(local: Local, peer: CID, message: HandshakeMessage) -> [UInt8] {
        initTranscript(group: local.group, initiator: local.cid, responder: peer, name: local.name,
                       staticKey: message.staticKey, ephemeralKey: message.ephemeralKey, resume: message.resume)
    }

    /// The response's transcript starts with a hash of the whole init
    /// (transcript and signature), so it answers exactly that init.
    static func responseTranscript(initMessage: HandshakeMessage, initTranscript: [UInt8], response: HandshakeMessage) -> [UInt8] {
        var bytes = Array("p22p-pair-resp-v2".utf8)
        bytes += Array(SHA256.hash(data: initTranscript + initMessage.signature))
        bytes.append(UInt8(response.name.utf8.count))
        bytes += Array(response.name.utf8)
        return bytes + response.staticKey + response.ephemeralKey + response.resume
    }

    static func finishMessage(_ transcript: [UInt8], ephemeral: Curve25519.KeyAgreement.PrivateKey, local: Local,
                              resume: [UInt8] = []) -> HandshakeMessage {
        let signature = local.identity.sign(transcript)
        let mac = Array(HMAC<SHA256>.authenticationCode(for: transcript + signature, using: local.groupKey))
        return HandshakeMessage(ephemeralKey: Array(ephemeral.publicKey.rawRepresentation), staticKey: local.identity.publicKey,
                                name: local.name, signature: signature, mac: mac, resume: resume)
    }

    /// The MAC first (cheap, and it proves the group), then the signature.
    static func check(_ message: HandshakeMessage, transcript: [UInt8], groupKey: SymmetricKey) throws(Failure) {
        guard HMAC<SHA256>.isValidAuthenticationCode(message.mac, authenticating: transcript + message.signature, using: groupKey) else {
            throw .badMAC
        }
        guard MemberIdentity.isValid(signature: message.signature, of: transcript, by: message.staticKey) else { throw .badSignature }
    }

    static func sessionKeys(ephemeral: Curve25519.KeyAgreement.PrivateKey, peerEphemeral: [UInt8], groupKey: SymmetricKey,
                            finalTranscript: [UInt8], isInitiator: Bool, resuming ticket: ResumptionTicket? = nil) throws(Failure) -> SessionKeys {
        guard let peerKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerEphemeral),
              let shared = try? ephemeral.sharedSecretFromKeyAgreement(with: peerKey) else { throw .badKey }
        return SessionKeys(shared: shared, groupKey: groupKey, transcriptHash: Array(SHA256.hash(data: finalTranscript)),
                           isInitiator: isInitiator, resuming: ticket)
    }
}

/// What it takes to resume a session: its resumption secret, known only to
/// the two members, and a public id derived from it that names the session in
/// the next handshake.
public struct ResumptionTicket: Sendable {
    public let secret: SymmetricKey
    public let id: [UInt8]

    public static let idSize = 16

    init(secret: SymmetricKey) {
        self.secret = secret
        let digest = SHA256.hash(data: Array("p22p-resume-id-v3".utf8) + secret.withUnsafeBytes { Array($0) })
        self.id = Array(digest.prefix(Self.idSize))
    }
}

/// One key per direction, from the DH secret salted with the group key and
/// bound to the hash of the whole handshake, and the ticket to resume the
/// session later. A resumed session mixes the earlier session's secret into
/// the key material: only the two members who shared that session can
/// derive the new keys, so a relay cannot splice a stream into another pair,
/// and frames of the earlier session fail to open in this one.
public struct SessionKeys: Sendable {
    public let sending: SymmetricKey
    public let receiving: SymmetricKey
    public let ticket: ResumptionTicket

    init(shared: SharedSecret, groupKey: SymmetricKey, transcriptHash: [UInt8], isInitiator: Bool, resuming earlier: ResumptionTicket? = nil) {
        let salt = groupKey.withUnsafeBytes { Array($0) }
        // HKDF's output is a stream: the first 64 bytes are the same as a
        // 64-byte derivation's, so version 2's key vectors still hold.
        let bytes: [UInt8]
        if let earlier {
            let input = shared.withUnsafeBytes { Array($0) } + earlier.secret.withUnsafeBytes { Array($0) }
            let info = Array("p22p-pair-resume-v3".utf8) + transcriptHash
            bytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: input), salt: salt, info: info, outputByteCount: 96)
                .withUnsafeBytes { Array($0) }
        } else {
            let info = Array("p22p-pair-session-v2".utf8) + transcriptHash
            bytes = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: salt, sharedInfo: info, outputByteCount: 96)
                .withUnsafeBytes { Array($0) }
        }
        let initiatorToResponder = SymmetricKey(data: bytes[0..<32])
        let responderToInitiator = SymmetricKey(data: bytes[32..<64])
        sending = isInitiator ? initiatorToResponder : responderToInitiator
        receiving = isInitiator ? responderToInitiator : initiatorToResponder
        ticket = ResumptionTicket(secret: SymmetricKey(data: bytes[64..<96]))
    }
}
