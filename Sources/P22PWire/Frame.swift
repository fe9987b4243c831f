import NIOCore

/// One WebSocket binary message. The first byte says whether it is for the
/// relay (a control message) or for another member (a relayed frame whose
/// payload the relay cannot read).
public enum Frame: Equatable, Sendable {
    case control(ControlMessage)
    /// `cid` is the destination when a member sends and the source when the
    /// relay delivers: the relay overwrites those two bytes in place and
    /// forwards the rest untouched.
    case relayed(cid: CID, payload: ByteBuffer)

    public static let relayedKind: UInt8 = 0x40
    /// Bytes before a relayed payload: kind and CID.
    public static let relayedHeaderSize = 3
}

enum ControlKind: UInt8 {
    case hello = 0x01, welcome, memberJoined, memberLeft, refused, undeliverable, reservation, streamRefused
    case create = 0x10, join, leave, reserve, extend
}

extension Frame {
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .relayed(let cid, let payload):
            Frame.writeRelayedHeader(cid: cid, into: &buffer)
            var payload = payload
            buffer.writeBuffer(&payload)
        case .control(let message):
            message.encode(into: &buffer)
        }
    }

    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        encode(into: &buffer)
        return buffer
    }

    public static func writeRelayedHeader(cid: CID, into buffer: inout ByteBuffer) {
        buffer.writeInteger(relayedKind)
        buffer.writeInteger(cid.rawValue)
    }

    /// The relay's fast path: the CID of a relayed frame without decoding it.
    public static func relayedCID(in buffer: ByteBuffer) -> CID? {
        guard buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == relayedKind,
              let raw = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt16.self) else { return nil }
        return CID(raw)
    }

    public static func decode(_ buffer: ByteBuffer) throws(WireError) -> Frame {
        var buffer = buffer
        guard let kind = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            throw .truncated(what: "frame kind")
        }
        if kind == relayedKind {
            buffer.moveReaderIndex(forwardBy: 1)
            let cid = CID(try buffer.readWireInteger(as: UInt16.self, field: "relayed frame CID"))
            return .relayed(cid: cid, payload: buffer)
        }
        return .control(try ControlMessage.decode(&buffer))
    }
}

extension ControlMessage {
    func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .hello(let version, let challenge, let maxFrameSize, let derivation):
            buffer.writeInteger(ControlKind.hello.rawValue)
            buffer.writeInteger(version)
            buffer.writeBytes(challenge)
            buffer.writeInteger(UInt32(clamping: maxFrameSize))
            buffer.writeInteger(UInt8(derivation == nil ? 0 : 1))
            derivation?.encode(into: &buffer)
        case .welcome(let cid, let name, let created):
            buffer.writeInteger(ControlKind.welcome.rawValue)
            buffer.writeInteger(cid.rawValue)
            buffer.writeShortString(name)
            buffer.writeInteger(UInt8(created ? 1 : 0))
        case .memberJoined(let cid, let name, let existing):
            buffer.writeInteger(ControlKind.memberJoined.rawValue)
            buffer.writeInteger(cid.rawValue)
            buffer.writeShortString(name)
            buffer.writeInteger(UInt8(existing ? 1 : 0))
        case .memberLeft(let cid, let name, let reason):
            buffer.writeInteger(ControlKind.memberLeft.rawValue)
            buffer.writeInteger(cid.rawValue)
            buffer.writeShortString(name)
            buffer.writeLongString(reason)
        case .refused(let code, let message):
            buffer.writeInteger(ControlKind.refused.rawValue)
            buffer.writeInteger(code.rawValue)
            buffer.writeLongString(message)
        case .undeliverable(let cid, let reason):
            buffer.writeInteger(ControlKind.undeliverable.rawValue)
            buffer.writeInteger(cid.rawValue)
            buffer.writeLongString(reason)
        case .streamRefused(let cid, let stream, let reason):
            buffer.writeInteger(ControlKind.streamRefused.rawValue)
            buffer.writeInteger(cid.rawValue)
            buffer.writeInteger(stream)
            buffer.writeLongString(reason)
        case .reservation(let key):
            buffer.writeInteger(ControlKind.reservation.rawValue)
            buffer.writeInteger(UInt16(key.count))
            buffer.writeBytes(key)
        case .reserve(let group, let creatorOnly, let creatorKey):
            buffer.writeInteger(ControlKind.reserve.rawValue)
            buffer.writeShortString(group)
            buffer.writeInteger(UInt8(creatorOnly ? 1 : 0))
            buffer.writeBytes(creatorKey)
        case .extend(let key):
            buffer.writeInteger(ControlKind.extend.rawValue)
            buffer.writeInteger(UInt16(key.count))
            buffer.writeBytes(key)
        case .create(let request):
            buffer.writeInteger(ControlKind.create.rawValue)
            request.encode(into: &buffer)
        case .join(let request):
            buffer.writeInteger(ControlKind.join.rawValue)
            request.encode(into: &buffer)
        case .leave:
            buffer.writeInteger(ControlKind.leave.rawValue)
        }
    }

    static func decode(_ buffer: inout ByteBuffer) throws(WireError) -> ControlMessage {
        let raw = try buffer.readWireInteger(as: UInt8.self, field: "frame kind")
        guard let kind = ControlKind(rawValue: raw) else { throw .unknownKind(raw, context: "frame") }
        let message: ControlMessage
        switch kind {
        case .hello:
            let version = try buffer.readWireInteger(as: UInt8.self, field: "hello version")
            let challenge = try buffer.readFixedBytes(challengeSize, field: "hello challenge")
            let maxFrameSize = Int(try buffer.readWireInteger(as: UInt32.self, field: "hello frame size"))
            // Version 1 ended here; reading on would hide the clear version
            // mismatch behind a decoding error.
            var derivation: KeyDerivation?
            if version >= 2, try buffer.readWireInteger(as: UInt8.self, field: "hello salt flag") != 0 {
                derivation = try KeyDerivation.decode(&buffer)
            }
            if version < 2 { buffer.moveReaderIndex(to: buffer.writerIndex) }
            message = .hello(version: version, challenge: challenge, maxFrameSize: maxFrameSize, derivation: derivation)
        case .welcome:
            let cid = CID(try buffer.readWireInteger(as: UInt16.self, field: "welcome CID"))
            let name = try buffer.readShortString(field: "welcome name")
            message = .welcome(cid: cid, name: name, created: try buffer.readWireInteger(as: UInt8.self, field: "welcome flag") != 0)
        case .memberJoined:
            let cid = CID(try buffer.readWireInteger(as: UInt16.self, field: "member CID"))
            let name = try buffer.readShortString(field: "member name")
            message = .memberJoined(cid: cid, name: name, existing: try buffer.readWireInteger(as: UInt8.self, field: "member flag") != 0)
        case .memberLeft:
            let cid = CID(try buffer.readWireInteger(as: UInt16.self, field: "member CID"))
            let name = try buffer.readShortString(field: "member name")
            message = .memberLeft(cid: cid, name: name, reason: try buffer.readLongString(field: "leave reason"))
        case .refused:
            let raw = try buffer.readWireInteger(as: UInt16.self, field: "refusal code")
            message = .refused(RefusalCode(rawValue: raw) ?? .other, message: try buffer.readLongString(field: "refusal message"))
        case .undeliverable:
            let cid = CID(try buffer.readWireInteger(as: UInt16.self, field: "undeliverable CID"))
            message = .undeliverable(cid: cid, reason: try buffer.readLongString(field: "undeliverable reason"))
        case .streamRefused:
            let cid = CID(try buffer.readWireInteger(as: UInt16.self, field: "stream refusal CID"))
            let stream = try buffer.readWireInteger(as: UInt32.self, field: "stream refusal id")
            message = .streamRefused(cid: cid, stream: stream, reason: try buffer.readLongString(field: "stream refusal reason"))
        case .reservation:
            message = .reservation(key: try buffer.readKey(field: "reservation key"))
        case .reserve:
            let group = try buffer.readShortString(field: "group name")
            let creatorOnly = try buffer.readWireInteger(as: UInt8.self, field: "reservation mode") != 0
            message = .reserve(group: group, creatorOnly: creatorOnly,
                               creatorKey: try buffer.readFixedBytes(AuthRequest.publicKeySize, field: "creator key"))
        case .extend:
            message = .extend(key: try buffer.readKey(field: "reservation key"))
        case .create:
            message = .create(try AuthRequest.decode(&buffer, create: true))
        case .join:
            message = .join(try AuthRequest.decode(&buffer, create: false))
        case .leave:
            message = .leave
        }
        try buffer.expectEnd(of: "control message")
        return message
    }
}

extension AuthRequest {
    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(version)
        buffer.writeShortString(group)
        buffer.writeShortString(name)
        buffer.writeBytes(memberKey)
        if isCreate {
            // A create always carries both; the encoder's caller guarantees it.
            (derivation ?? KeyDerivation(salt: Array(repeating: 0, count: KeyDerivation.saltSize), logN: 0, blockSize: 0, parallelism: 0)).encode(into: &buffer)
            buffer.writeBytes(authPublicKey ?? [])
        }
        buffer.writeBytes(signature)
        buffer.writeBytes(memberSignature)
        buffer.writeInteger(UInt16(reservation.count))
        buffer.writeBytes(reservation)
    }

    static func decode(_ buffer: inout ByteBuffer, create: Bool) throws(WireError) -> AuthRequest {
        let version = try buffer.readWireInteger(as: UInt8.self, field: "protocol version")
        let group = try buffer.readShortString(field: "group name")
        let name = try buffer.readShortString(field: "member name")
        let memberKey = try buffer.readFixedBytes(publicKeySize, field: "member key")
        let derivation = create ? try KeyDerivation.decode(&buffer) : nil
        let key = create ? try buffer.readFixedBytes(publicKeySize, field: "auth public key") : nil
        let signature = try buffer.readFixedBytes(signatureSize, field: "auth signature")
        let memberSignature = try buffer.readFixedBytes(signatureSize, field: "member signature")
        let reservation = try buffer.readKey(field: "reservation key")
        return AuthRequest(version: version, group: group, name: name, memberKey: memberKey, derivation: derivation,
                           authPublicKey: key, signature: signature, memberSignature: memberSignature,
                           reservation: reservation)
    }
}
