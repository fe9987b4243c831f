import NIOCore
import NIOWebSocket

/// Reads RFC 6455 frames from the raw byte stream and hands on each message
/// with its payload unmasked and fragments joined. A value with no I/O;
/// `LinkMessageHandler` feeds it what the socket reads.
///
/// Written for the bulk path: a frame that lies whole in one read and needs no
/// unmasking is passed on as a slice of that read, with no copy; any other
/// frame is copied once, unmasking as it goes, into a buffer of exactly its
/// size. (NIO's decoder accumulated reads in a growing buffer and left the
/// unmasking to a byte-by-byte loop: both showed up at the top of perf.)
///
/// A server requires masked frames and a client unmasked ones, as RFC 6455
/// does. A violation throws a `WebSocketFrameError` and nothing after it is
/// parsed.
public struct WebSocketFrameParser {
    /// Where a parsed message goes: its opcode and payload.
    public typealias Emit = (WebSocketOpcode, ByteBuffer) -> Void

    private let role: WebSocketRole
    private let maxMessageSize: Int
    private static let maxFragments = 64

    /// The tail of a read that ended inside a frame header.
    private var partialHeader: ByteBuffer?
    /// The frame whose payload is arriving.
    private var current: (header: WebSocketFrameHeader, payload: ByteBuffer)?
    /// A fragmented message being joined.
    private var fragments: (opcode: WebSocketOpcode, payload: ByteBuffer, count: Int)?
    private var failed = false

    public init(role: WebSocketRole, maxMessageSize: Int) {
        self.role = role
        self.maxMessageSize = maxMessageSize
    }

    /// Parses the bytes of one read, calling `emit` for every message completed.
    public mutating func parse(_ bytes: ByteBuffer, allocator: ByteBufferAllocator, emit: Emit) throws(WebSocketFrameError) {
        guard !failed else { return }
        var input = partialHeader.take(followedBy: bytes)
        do throws(WebSocketFrameError) {
            while input.readableBytes > 0 {
                if current == nil {
                    guard try startFrame(from: &input, allocator: allocator, emit: emit) else { break }
                }
                guard var frame = current else { continue }
                let wanted = frame.header.length - frame.payload.readableBytes
                let count = min(wanted, input.readableBytes)
                current = nil   // drop our reference so the append below does not copy the payload
                append(count, from: &input, to: &frame.payload, key: frame.header.maskKey)
                if count == wanted {
                    try finish(frame.header, payload: frame.payload, emit: emit)
                } else {
                    current = frame
                }
            }
        } catch {
            failed = true
            current = nil
            fragments = nil
            throw error
        }
    }

    /// Reads the next frame's header. A frame that is already complete is
    /// finished here; otherwise it becomes `current`. False when the header is
    /// not all there yet.
    private mutating func startFrame(from input: inout ByteBuffer, allocator: ByteBufferAllocator, emit: Emit) throws(WebSocketFrameError) -> Bool {
        let limit = maxMessageSize
        let parsed = try input.withUnsafeReadableBytes { bytes throws(WebSocketFrameError) in
            try WebSocketFrameHeader.parse(bytes, maxLength: limit)
        }
        guard let (header, headerSize) = parsed else {
            partialHeader = input
            input.moveReaderIndex(forwardBy: input.readableBytes)
            return false
        }
        switch (role, header.maskKey) {
        case (.server, nil): throw .protocolViolation("unmasked frame from a client")
        case (.client, .some): throw .protocolViolation("masked frame from a server")
        default: break
        }
        input.moveReaderIndex(forwardBy: headerSize)
        if header.maskKey == nil, input.readableBytes >= header.length {
            try finish(header, payload: input.readSlice(length: header.length)!, emit: emit)
        } else {
            current = (header, allocator.buffer(capacity: header.length))
        }
        return true
    }

    private func append(_ count: Int, from input: inout ByteBuffer, to payload: inout ByteBuffer, key: MaskKey?) {
        let offset = payload.readableBytes
        input.withUnsafeReadableBytes { source in
            let source = UnsafeRawBufferPointer(rebasing: source[..<count])
            _ = payload.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
                if let key {
                    Masking.apply(key, offset: offset, from: source, to: destination)
                } else {
                    destination.copyMemory(from: source)
                }
                return count
            }
        }
        input.moveReaderIndex(forwardBy: count)
    }

    private mutating func finish(_ header: WebSocketFrameHeader, payload: ByteBuffer, emit: Emit) throws(WebSocketFrameError) {
        if header.opcode.isControlOpcode {
            emit(header.opcode, payload)
            return
        }
        if header.opcode == .continuation {
            guard var message = fragments else { throw .protocolViolation("continuation frame without a message to continue") }
            fragments = nil
            message.count += 1
            guard message.payload.readableBytes + payload.readableBytes <= maxMessageSize else {
                throw .tooBig(length: message.payload.readableBytes + payload.readableBytes, limit: maxMessageSize)
            }
            guard message.count <= Self.maxFragments else { throw .protocolViolation("message in more than \(Self.maxFragments) fragments") }
            var payload = payload
            message.payload.writeBuffer(&payload)
            if header.fin {
                emit(message.opcode, message.payload)
            } else {
                fragments = message
            }
            return
        }
        guard fragments == nil else { throw .protocolViolation("new message before the fragmented one ended") }
        if header.fin {
            emit(header.opcode, payload)
        } else {
            fragments = (header.opcode, payload, 1)
        }
    }
}

/// Which end of the WebSocket this is: clients mask what they send and
/// servers must not (RFC 6455 section 5.1).
public enum WebSocketRole: Sendable {
    case client, server
}
