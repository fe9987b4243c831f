import NIOCore

/// The payload of a relayed frame: what one member says to another, opaque to
/// the relay. Handshake messages are authenticated with the group key; all
/// other traffic is sealed with the pair's session keys.
public enum PeerFrame: Equatable, Sendable {
    case handshakeInit(ephemeralKey: [UInt8], mac: [UInt8])
    case handshakeResponse(ephemeralKey: [UInt8], mac: [UInt8])
    /// `body` is ciphertext followed by the AEAD tag.
    case sealed(SealedHeader, body: ByteBuffer)

    public static let keySize = 32
    public static let macSize = 32
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
        case .handshakeInit(let key, let mac):
            buffer.writeInteger(PeerFrameKind.handshakeInit.rawValue)
            buffer.writeBytes(key)
            buffer.writeBytes(mac)
        case .handshakeResponse(let key, let mac):
            buffer.writeInteger(PeerFrameKind.handshakeResponse.rawValue)
            buffer.writeBytes(key)
            buffer.writeBytes(mac)
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
            let key = try buffer.readFixedBytes(keySize, field: "handshake key")
            let mac = try buffer.readFixedBytes(macSize, field: "handshake MAC")
            try buffer.expectEnd(of: "handshake")
            return kind == .handshakeInit ? .handshakeInit(ephemeralKey: key, mac: mac) : .handshakeResponse(ephemeralKey: key, mac: mac)
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
