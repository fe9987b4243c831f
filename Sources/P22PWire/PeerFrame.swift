import NIOCore

/// The payload of a relayed frame: what one member says to another, opaque to
/// the relay. Handshake messages are signed by the sender's static key and
/// authenticated with the group key; all other traffic is sealed with the
/// pair's session keys.
public enum PeerFrame: Equatable, Sendable {
    case handshakeInit(HandshakeMessage)
    case handshakeResponse(HandshakeMessage)
    /// `body` is ciphertext followed by the AEAD tag.
    case sealed(SealedHeader, body: ByteBuffer)

    public static let keySize = 32
    public static let macSize = 32
    public static let signatureSize = 64
}

/// One side's half of the pair handshake: who it is (name and static key),
/// its fresh ephemeral key, its signature over the transcript so far, and a
/// MAC with the group key over all of that.
public struct HandshakeMessage: Equatable, Sendable {
    public var ephemeralKey: [UInt8]
    public var staticKey: [UInt8]
    public var name: String
    public var signature: [UInt8]
    public var mac: [UInt8]
    /// In an init, the id of the earlier session it offers to resume; in a
    /// response, the same id if the responder resumes it. Empty otherwise,
    /// and then absent on the wire.
    public var resume: [UInt8]

    public static let resumeIDSize = 16

    public init(ephemeralKey: [UInt8], staticKey: [UInt8], name: String, signature: [UInt8], mac: [UInt8], resume: [UInt8] = []) {
        self.ephemeralKey = ephemeralKey
        self.staticKey = staticKey
        self.name = name
        self.signature = signature
        self.mac = mac
        self.resume = resume
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(ephemeralKey)
        buffer.writeBytes(staticKey)
        buffer.writeShortString(name)
        buffer.writeBytes(signature)
        buffer.writeBytes(mac)
        buffer.writeBytes(resume)
    }

    static func decode(_ buffer: inout ByteBuffer) throws(WireError) -> HandshakeMessage {
        let ephemeral = try buffer.readFixedBytes(PeerFrame.keySize, field: "handshake ephemeral key")
        let staticKey = try buffer.readFixedBytes(PeerFrame.keySize, field: "handshake static key")
        let name = try buffer.readShortString(field: "handshake name")
        let signature = try buffer.readFixedBytes(PeerFrame.signatureSize, field: "handshake signature")
        let mac = try buffer.readFixedBytes(PeerFrame.macSize, field: "handshake MAC")
        let resume = buffer.readableBytes > 0 ? try buffer.readFixedBytes(resumeIDSize, field: "handshake resumption id") : []
        return HandshakeMessage(ephemeralKey: ephemeral, staticKey: staticKey, name: name, signature: signature, mac: mac, resume: resume)
    }
}

enum PeerFrameKind: UInt8 {
    case handshakeInit = 0x01, handshakeResponse = 0x02, sealed = 0x03
}

/// The clear part of a sealed frame. It is the AEAD's associated data, so
/// flipping any of its bits fails authentication just like the ciphertext.
/// The stream id is in clear so a frame that fails to open can still reset the
/// stream it claims to belong to.
public struct SealedHeader: Equatable, Sendable {
    public var kind: StreamMessageKind
    public var stream: UInt32
    /// Nonce counter, strictly increasing per direction: a replayed or
    /// reordered frame is rejected before it is opened.
    public var counter: UInt64

    public init(kind: StreamMessageKind, stream: UInt32, counter: UInt64) {
        self.kind = kind
        self.stream = stream
        self.counter = counter
    }

    /// Peer frame kind byte plus this header.
    public static let encodedSize = 1 + 1 + 4 + 8

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(PeerFrameKind.sealed.rawValue)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(stream)
        buffer.writeInteger(counter)
    }
}

extension PeerFrame {
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .handshakeInit(let message):
            buffer.writeInteger(PeerFrameKind.handshakeInit.rawValue)
            message.encode(into: &buffer)
        case .handshakeResponse(let message):
            buffer.writeInteger(PeerFrameKind.handshakeResponse.rawValue)
            message.encode(into: &buffer)
        case .sealed(let header, let body):
            header.encode(into: &buffer)
            var body = body
            buffer.writeBuffer(&body)
        }
    }

    /// Decodes without copying: a sealed body is a slice of `buffer`.
    public static func decode(_ buffer: ByteBuffer) throws(WireError) -> PeerFrame {
        var buffer = buffer
        let raw = try buffer.readWireInteger(as: UInt8.self, field: "peer frame kind")
        guard let kind = PeerFrameKind(rawValue: raw) else { throw .unknownKind(raw, context: "peer frame") }
        switch kind {
        case .handshakeInit, .handshakeResponse:
            let message = try HandshakeMessage.decode(&buffer)
            try buffer.expectEnd(of: "handshake")
            return kind == .handshakeInit ? .handshakeInit(message) : .handshakeResponse(message)
        case .sealed:
            let rawKind = try buffer.readWireInteger(as: UInt8.self, field: "stream message kind")
            guard let messageKind = StreamMessageKind(rawValue: rawKind) else {
                throw .unknownKind(rawKind, context: "stream message")
            }
            let stream = try buffer.readWireInteger(as: UInt32.self, field: "stream id")
            let counter = try buffer.readWireInteger(as: UInt64.self, field: "nonce counter")
            return .sealed(SealedHeader(kind: messageKind, stream: stream, counter: counter), body: buffer)
        }
    }
}
