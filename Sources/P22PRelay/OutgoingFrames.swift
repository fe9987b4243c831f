import NIOCore
import P22PTransport
import P22PWire

/// What the relay writes to members, framed for each member's link: a
/// WebSocket (server frames are never masked) or the stream framing.
enum OutgoingFrames {
    static func control(_ message: ControlMessage, framer: LinkFramer, allocator: ByteBufferAllocator) -> ByteBuffer {
        framer.message(allocator: allocator, capacity: 128) { Frame.control(message).encode(into: &$0) }
    }

    /// A member's relayed frame as it goes to its destination: a small head
    /// (the destination link's frame header, relayed kind, the *source* CID) and the payload as a
    /// slice of what the relay read. Nothing of the payload is copied or
    /// written to: the read buffer is still referenced up the pipeline, so
    /// rewriting the CID in place used to copy every frame.
    static func relayed(_ frame: ByteBuffer, from source: CID, framer: LinkFramer, allocator: ByteBufferAllocator) -> (head: ByteBuffer, body: ByteBuffer) {
        let body = frame.getSlice(at: frame.readerIndex + Frame.relayedHeaderSize,
                                  length: frame.readableBytes - Frame.relayedHeaderSize)!
        var head = framer.header(payloadLength: frame.readableBytes, extraCapacity: Frame.relayedHeaderSize, allocator: allocator)
        Frame.writeRelayedHeader(cid: source, into: &head)
        return (head, body)
    }
}
