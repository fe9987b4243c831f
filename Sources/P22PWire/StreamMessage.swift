import NIOCore

public enum StreamMessageKind: UInt8, Sendable {
    case open = 1, openAccepted, openRefused, data, window, finish, reset, ping, pong, rekey, resume, finishAcknowledged, compressedData
    case datagramOpen, datagram
}

/// What travels inside a sealed frame: the life of one forwarded TCP
/// connection or UDP flow, plus session-level pings (on stream 0).
public enum StreamMessage: Equatable, Sendable {
    /// Ask the peer to connect to `host:port` on its side; `window` is how many
    /// bytes the opener is ready to receive.
    /// `compress` asks for compressed data on this stream, both ways.
    case open(host: String, port: UInt16, window: UInt32, compress: Bool = false)
    /// `compress` agrees to it (only when asked).
    case openAccepted(window: UInt32, compress: Bool = false)
    case openRefused(reason: String)
    case data(ByteBuffer)
    /// A data chunk compressed with raw deflate (RFC 1951), on its own: no
    /// context carries over from one chunk to the next, or between streams.
    /// Counts as the bytes it inflates to, at most `Limits.maxDataChunk`.
    case compressedData(ByteBuffer)
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
    /// A UDP flow starts: the peer sends what follows on this id to
    /// `host:port` over UDP, from a socket of the flow's own, and sends back
    /// what comes from there. Sent again under every new session key (the
    /// peer may have restarted); a flow the peer already has stays as it is.
    /// The answer to a target that is not allowed is `openRefused`, once.
    case datagramOpen(host: String, port: UInt16)
    /// One UDP datagram, whole: never split, never merged with another.
    case datagram(ByteBuffer)

    public var kind: StreamMessageKind {
        switch self {
        case .open: .open
        case .openAccepted: .openAccepted
        case .openRefused: .openRefused
        case .data: .data
        case .compressedData: .compressedData
        case .window: .window
        case .finish: .finish
        case .finishAcknowledged: .finishAcknowledged
        case .reset: .reset
        case .ping: .ping
        case .pong: .pong
        case .rekey: .rekey
        case .resume: .resume
        case .datagramOpen: .datagramOpen
        case .datagram: .datagram
        }
    }

    /// The plaintext body; the kind travels in the sealed header.
    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .open(let host, let port, let window, let compress):
            buffer.writeShortString(host)
            buffer.writeInteger(port)
            buffer.writeInteger(window)
            // Flags only when set: an open without them is version 3's.
            if compress { buffer.writeInteger(StreamFlags.compress) }
        case .openAccepted(let window, let compress):
            buffer.writeInteger(window)
            if compress { buffer.writeInteger(StreamFlags.compress) }
        case .openRefused(let reason), .reset(let reason):
            buffer.writeLongString(reason)
        case .datagramOpen(let host, let port):
            buffer.writeShortString(host)
            buffer.writeInteger(port)
        case .data(let bytes), .compressedData(let bytes), .datagram(let bytes):
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
            let window = try body.readWireInteger(as: UInt32.self, field: "window")
            message = .open(host: host, port: port, window: window, compress: try StreamFlags.compressRequested(&body))
        case .openAccepted:
            let window = try body.readWireInteger(as: UInt32.self, field: "window")
            message = .openAccepted(window: window, compress: try StreamFlags.compressRequested(&body))
        case .openRefused:
            message = .openRefused(reason: try body.readLongString(field: "refusal reason"))
        case .data:
            guard body.readableBytes <= Limits.maxDataChunk else {
                throw .fieldTooLong(field: "data", length: body.readableBytes, limit: Limits.maxDataChunk)
            }
            return .data(body)
        case .compressedData:
            guard body.readableBytes <= Limits.maxDataChunk else {
                throw .fieldTooLong(field: "compressed data", length: body.readableBytes, limit: Limits.maxDataChunk)
            }
            return .compressedData(body)
        case .datagramOpen:
            let host = try body.readShortString(field: "UDP target host", limit: 255)
            message = .datagramOpen(host: host, port: try body.readWireInteger(as: UInt16.self, field: "UDP target port"))
        case .datagram:
            guard body.readableBytes <= Limits.maxDataChunk else {
                throw .fieldTooLong(field: "datagram", length: body.readableBytes, limit: Limits.maxDataChunk)
            }
            return .datagram(body)
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

/// The optional flags byte that ends `open` and `openAccepted`.
enum StreamFlags {
    static let compress: UInt8 = 0x01

    /// An absent byte is no flags; unknown bits are refused, so a peer never
    /// believes a feature is on that this side does not have.
    static func compressRequested(_ body: inout ByteBuffer) throws(WireError) -> Bool {
        guard body.readableBytes > 0 else { return false }
        let flags = try body.readWireInteger(as: UInt8.self, field: "stream flags")
        guard flags & ~compress == 0 else { throw .unknownKind(flags, context: "stream flags") }
        return flags & compress != 0
    }
}
