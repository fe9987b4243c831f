import NIOCore
import NIOWebSocket

/// Turns outgoing messages into RFC 6455 frames where they are built.
///
/// Framing happens in the producer, on a buffer only it holds, and not in a
/// channel handler: a handler receives the buffer while the pipeline still
/// references it, so masking or prepending the header there forces a copy of
/// the whole payload (copy-on-write). A producer that takes its buffer from
/// `LinkFramer.messageBuffer` gets room in front for the header, so a framed
/// message is one contiguous write with no copy; a client's mask is applied
/// in place, eight bytes at a time.
///
/// Everything written to a WebSocket channel must have been framed here
/// (through `LinkFramer`, which frames for either kind of link).
public struct WebSocketFramer: Sendable {
    public let role: WebSocketRole

    public init(role: WebSocketRole) { self.role = role }

    /// Frames `message` (its readable bytes are the payload) in place.
    public func frame(_ message: inout ByteBuffer, opcode: WebSocketOpcode = .binary) {
        let header = WebSocketFrameHeader(
            fin: true, opcode: opcode, maskKey: role == .client ? .random() : nil, length: message.readableBytes)
        if let key = header.maskKey {
            message.withUnsafeMutableReadableBytes { bytes in
                Masking.apply(key, offset: 0, from: UnsafeRawBufferPointer(bytes), to: bytes)
            }
        }
        let size = header.size
        if message.readerIndex >= size {
            message.moveReaderIndex(to: message.readerIndex - size)
            message.withUnsafeMutableReadableBytes { header.write(into: $0) }
        } else {
            // Not from `LinkFramer.messageBuffer`: small control messages only.
            var framed = ByteBufferAllocator().buffer(capacity: size + message.readableBytes)
            framed.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { header.write(into: $0); return size }
            framed.writeBuffer(&message)
            message = framed
        }
    }

    /// A buffer holding only the frame header for a message of
    /// `payloadLength` bytes, with room for `extraCapacity` more: the caller
    /// writes the start of the payload into it and the rest as a separate
    /// buffer. This is how the relay forwards a message without copying it
    /// (the rest is a slice of what it read). Servers only: a client's frames
    /// are masked as a whole.
    public func header(payloadLength: Int, extraCapacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        precondition(role == .server, "a client's frames are masked and cannot be written in pieces")
        let header = WebSocketFrameHeader(fin: true, opcode: .binary, maskKey: nil, length: payloadLength)
        let size = header.size
        var buffer = allocator.buffer(capacity: size + extraCapacity)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { header.write(into: $0); return size }
        return buffer
    }
}
