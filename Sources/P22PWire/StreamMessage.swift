import NIOCore

public enum StreamMessageKind: UInt8, Sendable {
    case open = 1, openAccepted, openRefused, data, window, finish, reset, ping, pong, rekey, resume, finishAcknowledged
}

/// What travels inside a sealed frame: the life of one forwarded TCP
/// connection, plus session-level pings (on stream 0).
public enum StreamMessage: Equatable, Sendable {
    /// Ask the peer to connect to `host:port` on its side; `window` is how many
    /// bytes the opener is ready to receive.
    case open(host: String, port: UInt16, window: UInt32)
    case openAccepted(window: UInt32)
    case openRefused(reason: String)
    case data(ByteBuffer)
    /// Credit: the receiver has delivered this many more bytes to its socket.
    case window(increment: UInt32)
    /// The sender will send no more data (TCP FIN); the other direction goes
    /// on. `sentBytes` is every data byte it sent on the stream: sealed, it
    /// is the peer's own word on where the stream ends, so a relay that drops
    /// the tail cannot pass the rest off as complete.
    case finish(sentBytes: UInt64)
    /// The peer's `finish` and every byte before it arrived: the peer may
    /// forget what it kept for resending.
    case finishAcknowledged
    case reset(reason: String)
    case ping(token: UInt64)
    case pong(token: UInt64)
    /// On stream 0: every frame after this one in this direction is sealed
    /// with the next key (see `FrameSealer.rekey`).
    case rekey
    /// On stream 0, first thing after every handshake: where each of the
    /// sender's streams stands, so both sides resend what the other missed
    /// while the link was down. A long list takes several messages; `last`
    /// marks the end of it.
    case resume([StreamResume], last: Bool)

    public var kind: StreamMessageKind {
        switch self {
        case .open: .open
        case .openAccepted: .openAccepted
        case .openRefused: .openRefused
        case .data: .data
        case .window: .window
        case .finish: .finish
        case .finishAcknowledged: .finishAcknowledged
        case .reset: .reset
        case .ping: .ping
        case .pong: .pong
        case .rekey: .rekey
        case .resume: .resume
        }
    }

    /// The plaintext body; the kind travels in the sealed header.
    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .open(let host, let port, let window):
            buffer.writeShortString(host)
            buffer.writeInteger(port)
            buffer.writeInteger(window)
        case .openAccepted(let window):
            buffer.writeInteger(window)
        case .openRefused(let reason), .reset(let reason):
            buffer.writeLongString(reason)
        case .data(let bytes):
            var bytes = bytes
            buffer.writeBuffer(&bytes)
        case .window(let increment):
            buffer.writeInteger(increment)
        case .finish(let sentBytes):
            buffer.writeInteger(sentBytes)
        case .ping(let token), .pong(let token):
            buffer.writeInteger(token)
        case .rekey, .finishAcknowledged:
            break
        case .resume(let entries, let last):
            buffer.writeInteger(UInt8(last ? 1 : 0))
            for entry in entries { entry.encode(into: &buffer) }
        }
    }

    public static func decode(kind: StreamMessageKind, body: ByteBuffer) throws(WireError) -> StreamMessage {
        var body = body
        let message: StreamMessage
        switch kind {
        case .open:
            let host = try body.readShortString(field: "target host", limit: 255)
            let port = try body.readWireInteger(as: UInt16.self, field: "target port")
            message = .open(host: host, port: port, window: try body.readWireInteger(as: UInt32.self, field: "window"))
        case .openAccepted:
            message = .openAccepted(window: try body.readWireInteger(as: UInt32.self, field: "window"))
        case .openRefused:
            message = .openRefused(reason: try body.readLongString(field: "refusal reason"))
        case .data:
            guard body.readableBytes <= Limits.maxDataChunk else {
                throw .fieldTooLong(field: "data", length: body.readableBytes, limit: Limits.maxDataChunk)
            }
            return .data(body)
        case .window:
            message = .window(increment: try body.readWireInteger(as: UInt32.self, field: "window increment"))
        case .finish:
            message = .finish(sentBytes: try body.readWireInteger(as: UInt64.self, field: "finish byte count"))
        case .reset:
            message = .reset(reason: try body.readLongString(field: "reset reason"))
        case .ping:
            message = .ping(token: try body.readWireInteger(as: UInt64.self, field: "ping token"))
        case .pong:
            message = .pong(token: try body.readWireInteger(as: UInt64.self, field: "pong token"))
        case .rekey:
            message = .rekey
        case .finishAcknowledged:
            message = .finishAcknowledged
        case .resume:
            let last = try body.readWireInteger(as: UInt8.self, field: "resume last flag") != 0
            guard body.readableBytes % StreamResume.encodedSize == 0,
                  body.readableBytes / StreamResume.encodedSize <= StreamResume.maxPerMessage else {
                throw .fieldTooLong(field: "resume list", length: body.readableBytes, limit: StreamResume.encodedSize * StreamResume.maxPerMessage)
            }
            var entries: [StreamResume] = []
            while body.readableBytes > 0 { entries.append(try StreamResume.decode(&body)) }
            message = .resume(entries, last: last)
        }
        try body.expectEnd(of: "stream message")
        return message
    }
}

/// Where one stream stands on the side that sends this, in a `resume`
/// message: the peer resends data from `received` on, within `credit`.
public struct StreamResume: Equatable, Sendable {
    public var stream: UInt32
    /// Data bytes that arrived on the stream so far: the peer's next byte
    /// to send is this one.
    public var received: UInt64
    /// Window credit granted to the peer so far (the sum of its increments):
    /// everything before it has been delivered, so the peer may forget it.
    public var granted: UInt64
    /// Bytes the peer may send beyond `received`.
    public var credit: UInt32
    /// The stream is past opening here (its open was accepted, or its
    /// target connected).
    public var isOpen: Bool
    /// The peer's `finish` arrived here.
    public var finishReceived: Bool

    public init(stream: UInt32, received: UInt64, granted: UInt64, credit: UInt32, isOpen: Bool, finishReceived: Bool) {
        self.stream = stream
        self.received = received
        self.granted = granted
        self.credit = credit
        self.isOpen = isOpen
        self.finishReceived = finishReceived
    }

    public static let encodedSize = 4 + 8 + 8 + 4 + 1
    /// Fits the smallest frame a relay may set.
    public static let maxPerMessage = 100

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(stream)
        buffer.writeInteger(received)
        buffer.writeInteger(granted)
        buffer.writeInteger(credit)
        buffer.writeInteger(UInt8((isOpen ? 1 : 0) | (finishReceived ? 2 : 0)))
    }

    static func decode(_ buffer: inout ByteBuffer) throws(WireError) -> StreamResume {
        let stream = try buffer.readWireInteger(as: UInt32.self, field: "resume stream id")
        let received = try buffer.readWireInteger(as: UInt64.self, field: "resume received bytes")
        let granted = try buffer.readWireInteger(as: UInt64.self, field: "resume granted bytes")
        let credit = try buffer.readWireInteger(as: UInt32.self, field: "resume credit")
        let flags = try buffer.readWireInteger(as: UInt8.self, field: "resume flags")
        return StreamResume(stream: stream, received: received, granted: granted, credit: credit,
                            isOpen: flags & 1 != 0, finishReceived: flags & 2 != 0)
    }
}
