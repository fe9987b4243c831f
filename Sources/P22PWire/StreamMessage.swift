import NIOCore

public enum StreamMessageKind: UInt8, Sendable {
    case open = 1, openAccepted, openRefused, data, window, finish, reset, ping, pong, rekey
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
    case reset(reason: String)
    case ping(token: UInt64)
    case pong(token: UInt64)
    /// On stream 0: every frame after this one in this direction is sealed
    /// with the next key (see `FrameSealer.rekey`).
    case rekey

    public var kind: StreamMessageKind {
        switch self {
        case .open: .open
        case .openAccepted: .openAccepted
        case .openRefused: .openRefused
        case .data: .data
        case .window: .window
        case .finish: .finish
        case .reset: .reset
        case .ping: .ping
        case .pong: .pong
        case .rekey: .rekey
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
        case .rekey:
            break
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
        }
        try body.expectEnd(of: "stream message")
        return message
    }
}
