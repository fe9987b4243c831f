@preconcurrency import Crypto
import Foundation
import P22PWire

/// Ephemeral X25519 key agreement between two members, authenticated with the
/// group key so that the relay (which has no group key) cannot stand in the
/// middle. Fresh keys per session give forward secrecy: a recorded session
/// stays unreadable even if the password leaks later.
///
/// The MACs bind both CIDs and both ephemeral keys, so a handshake message
/// cannot be replayed toward another member or spliced into another exchange.
public enum PairHandshake {
    public enum Failure: Error, Equatable {
        case badMAC
        case badKey
    }

    /// The initiator's pending state between sending `init` and receiving the response.
    public struct Initiator: Sendable {
        let ephemeral: Curve25519.KeyAgreement.PrivateKey
        let me: CID
        let peer: CID

        public init(me: CID, peer: CID) {
            self.ephemeral = Curve25519.KeyAgreement.PrivateKey()
            self.me = me
            self.peer = peer
        }

        public func initFrame(groupKey: SymmetricKey) -> PeerFrame {
            let key = Array(ephemeral.publicKey.rawRepresentation)
            return .handshakeInit(ephemeralKey: key, mac: mac(groupKey, "init", initiator: me, responder: peer, key))
        }

        public func finish(responseKey: [UInt8], mac responseMAC: [UInt8], groupKey: SymmetricKey) throws(Failure) -> SessionKeys {
            let initKey = Array(ephemeral.publicKey.rawRepresentation)
            let expected = transcript("resp", initiator: me, responder: peer, initKey + responseKey)
            guard HMAC<SHA256>.isValidAuthenticationCode(responseMAC, authenticating: expected, using: groupKey) else {
                throw .badMAC
            }
            guard let peerKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: responseKey),
                  let shared = try? ephemeral.sharedSecretFromKeyAgreement(with: peerKey) else { throw .badKey }
            return SessionKeys(shared: shared, groupKey: groupKey, initiator: me, responder: peer,
                               initKey: initKey, responseKey: responseKey, isInitiator: true)
        }
    }

    /// Answers an `init` from `peer`; returns the response frame and the keys.
    public static func respond(
        initKey: [UInt8], mac initMAC: [UInt8], me: CID, peer: CID, groupKey: SymmetricKey
    ) throws(Failure) -> (PeerFrame, SessionKeys) {
        let expected = transcript("init", initiator: peer, responder: me, initKey)
        guard HMAC<SHA256>.isValidAuthenticationCode(initMAC, authenticating: expected, using: groupKey) else {
            throw .badMAC
        }
        let ephemeral = Curve25519.KeyAgreement.PrivateKey()
        guard let peerKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: initKey),
              let shared = try? ephemeral.sharedSecretFromKeyAgreement(with: peerKey) else { throw .badKey }
        let responseKey = Array(ephemeral.publicKey.rawRepresentation)
        let frame = PeerFrame.handshakeResponse(
            ephemeralKey: responseKey, mac: mac(groupKey, "resp", initiator: peer, responder: me, initKey + responseKey))
        let keys = SessionKeys(shared: shared, groupKey: groupKey, initiator: peer, responder: me,
                               initKey: initKey, responseKey: responseKey, isInitiator: false)
        return (frame, keys)
    }

    static func transcript(_ label: String, initiator: CID, responder: CID, _ keys: [UInt8]) -> [UInt8] {
        var bytes = Array("p22p-handshake-\(label)-v1".utf8)
        bytes += [UInt8(initiator.rawValue >> 8), UInt8(initiator.rawValue & 0xFF)]
        bytes += [UInt8(responder.rawValue >> 8), UInt8(responder.rawValue & 0xFF)]
        return bytes + keys
    }

    static func mac(_ groupKey: SymmetricKey, _ label: String, initiator: CID, responder: CID, _ keys: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: transcript(label, initiator: initiator, responder: responder, keys), using: groupKey))
    }
}

/// One key per direction, from the DH secret salted with the group key.
public struct SessionKeys: Sendable {
    public let sending: SymmetricKey
    public let receiving: SymmetricKey

    init(shared: SharedSecret, groupKey: SymmetricKey, initiator: CID, responder: CID,
         initKey: [UInt8], responseKey: [UInt8], isInitiator: Bool) {
        let info = PairHandshake.transcript("session", initiator: initiator, responder: responder, initKey + responseKey)
        let salt = groupKey.withUnsafeBytes { Array($0) }
        let material = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: salt, sharedInfo: info, outputByteCount: 64)
        let bytes = material.withUnsafeBytes { Array($0) }
        let initiatorToResponder = SymmetricKey(data: bytes[0..<32])
        let responderToInitiator = SymmetricKey(data: bytes[32..<64])
        sending = isInitiator ? initiatorToResponder : responderToInitiator
        receiving = isInitiator ? responderToInitiator : initiatorToResponder
    }
}
