import NIOCore
import NIOWebSocket

/// Frames outgoing messages for whichever kind of link they go to: a
/// WebSocket (ws://, wss://) or p22p's stream framing (tcp://, tls://).
/// Producers build each message in a buffer from `messageBuffer`, which has
/// room in front for either header, so framing never copies the payload.
public enum LinkFramer: Sendable {
    case webSocket(WebSocketFramer)
    case stream

    /// Room reserved in front of every message: the larger of the two headers.
    static let headerRoom = max(WebSocketFrameHeader.maxSize, StreamFraming.headerSize)

    /// An empty buffer for a message of `capacity` bytes, with room in front
    /// for its frame header.
    public func messageBuffer(allocator: ByteBufferAllocator, capacity: Int) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.headerRoom + capacity)
        buffer.moveWriterIndex(forwardBy: Self.headerRoom)
        buffer.moveReaderIndex(forwardBy: Self.headerRoom)
        return buffer
    }

    /// A framed message whose payload `body` writes (about `capacity` bytes).
    public func message(allocator: ByteBufferAllocator, capacity: Int, _ body: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = messageBuffer(allocator: allocator, capacity: capacity)
        body(&buffer)
        frame(&buffer)
        return buffer
    }

    /// Frames `message` (its readable bytes are the payload) in place.
    public func frame(_ message: inout ByteBuffer, opcode: WebSocketOpcode = .binary) {
        switch self {
        case .webSocket(let framer):
            framer.frame(&message, opcode: opcode)
        case .stream:
            let length = message.readableBytes
            if message.readerIndex >= StreamFraming.headerSize {
                message.moveReaderIndex(to: message.readerIndex - StreamFraming.headerSize)
                message.withUnsafeMutableReadableBytes { StreamFraming.writeHeader(opcode: opcode, length: length, into: $0) }
            } else {
                // Not from `messageBuffer`: small control messages only.
                var framed = ByteBufferAllocator().buffer(capacity: StreamFraming.headerSize + length)
                framed.writeWithUnsafeMutableBytes(minimumWritableBytes: StreamFraming.headerSize) {
                    StreamFraming.writeHeader(opcode: opcode, length: length, into: $0)
                    return StreamFraming.headerSize
                }
                framed.writeBuffer(&message)
                message = framed
            }
        }
    }

    /// A buffer holding only the header of a message of `payloadLength`
    /// bytes, with room for `extraCapacity` more; see `WebSocketFramer.header`.
    /// For the relay only: a WebSocket client masks its frames as a whole.
    public func header(payloadLength: Int, extraCapacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        switch self {
        case .webSocket(let framer):
            return framer.header(payloadLength: payloadLength, extraCapacity: extraCapacity, allocator: allocator)
        case .stream:
            var buffer = allocator.buffer(capacity: StreamFraming.headerSize + extraCapacity)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: StreamFraming.headerSize) {
                StreamFraming.writeHeader(opcode: .binary, length: payloadLength, into: $0)
                return StreamFraming.headerSize
            }
            return buffer
        }
    }
}

/// Which framing a link speaks, and for a WebSocket which end it is.
public enum LinkWire: Sendable, Equatable {
    case webSocket(WebSocketRole)
    case stream

    public var framer: LinkFramer {
        switch self {
        case .webSocket(let role): .webSocket(WebSocketFramer(role: role))
        case .stream: .stream
        }
    }
}
