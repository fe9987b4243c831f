import NIOCore
import NIOWebSocket

/// p22p's own framing for `tcp://` and `tls://` links: what a WebSocket does
/// for a relay link, minus the HTTP upgrade and the client's masking, which
/// protect web proxies and browsers, neither of which is on this path.
///
/// A member opens with the preamble `p22p.v1 <routing key>\n` (25 bytes), so
/// the relay (or a load balancer reading the first line) knows the group's
/// routing key as it would from the WebSocket path. After it, both ways,
/// every frame is a 5-byte header (a kind byte, then the payload's length as
/// a big-endian UInt32) and the payload. The kinds take RFC 6455's opcode
/// numbers, so the link layer above handles both framings alike: 0x2 a
/// message, 0x8 close (UInt16 code, then a reason), 0x9 ping, 0xA pong.
public enum StreamFraming {
    public static let headerSize = 5
    /// Control frames (close, ping, pong) carry at most this much, as in RFC 6455.
    public static let maxControlPayload = 125

    static let preambleStart = Array("p22p.v1 ".utf8)
    public static let preambleSize = preambleStart.count + 16 + 1

    /// What a member sends first on a link to the group with `routingKey`.
    public static func preamble(routingKey: String) -> [UInt8] {
        preambleStart + Array(routingKey.utf8) + [UInt8(ascii: "\n")]
    }

    /// How the first bytes of a connection read as a preamble.
    public enum PreambleParse: Equatable {
        case needMoreData
        /// The routing key: 16 lowercase hex digits.
        case routingKey(String)
        case invalid
    }

    /// Reads a preamble from the start of `bytes`; judged as soon as a byte
    /// departs from the form, so a stray client is turned away at once.
    public static func parsePreamble(_ bytes: ByteBuffer) -> PreambleParse {
        let view = bytes.readableBytesView
        for (index, byte) in view.prefix(preambleSize).enumerated() {
            let fits = switch index {
            case ..<preambleStart.count: byte == preambleStart[index]
            case preambleSize - 1: byte == UInt8(ascii: "\n")
            default: (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            }
            guard fits else { return .invalid }
        }
        guard view.count >= preambleSize else { return .needMoreData }
        let key = view.dropFirst(preambleStart.count).prefix(16)
        return .routingKey(String(decoding: key, as: UTF8.self))
    }

    /// Whether `bytes` begin like a preamble of some p22p version (as a
    /// newer or older member's would), so a refusal can say why.
    public static func looksLikeOtherVersion(_ bytes: ByteBuffer) -> Bool {
        bytes.readableBytesView.starts(with: Array("p22p.v".utf8))
    }

    static func isKnown(_ opcode: WebSocketOpcode) -> Bool {
        switch opcode {
        case .binary, .connectionClose, .ping, .pong: true
        default: false
        }
    }

    static func writeHeader(opcode: WebSocketOpcode, length: Int, into destination: UnsafeMutableRawBufferPointer) {
        destination[0] = UInt8(webSocketOpcode: opcode)
        let length = UInt32(length)
        for index in 0..<4 { destination[1 + index] = UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32(index))) }
    }
}

/// A frame that breaks the stream framing or the size limit.
public enum StreamFrameError: Error, Equatable, CustomStringConvertible {
    case unknownKind(UInt8)
    case controlTooBig(length: Int)
    case tooBig(length: Int, limit: Int)

    public var closeCode: WebSocketErrorCode {
        switch self {
        case .unknownKind, .controlTooBig: .protocolError
        case .tooBig: .messageTooLarge
        }
    }

    public var description: String {
        switch self {
        case .unknownKind(let kind): "p22p framing violation: unknown frame kind \(kind)"
        case .controlTooBig(let length): "p22p framing violation: control frame of \(length) bytes"
        case .tooBig(let length, let limit): "p22p message of \(length) bytes, more than the limit of \(limit)"
        }
    }
}

/// Reads stream frames from the raw bytes of a tcp:// or tls:// link; the
/// counterpart of `WebSocketFrameParser`, and as careful about copies: a
/// frame whole in one read goes on as a slice of it, any other is copied once
/// into a buffer of exactly its size (after a header split across reads,
/// the next read is joined to it first). Every length is checked against its
/// limit before anything is allocated for it.
public struct StreamFrameParser {
    public typealias Emit = (WebSocketOpcode, ByteBuffer) -> Void

    private let maxMessageSize: Int
    private var partialHeader: ByteBuffer?
    private var current: (opcode: WebSocketOpcode, length: Int, payload: ByteBuffer)?
    private var failed = false

    public init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    public mutating func parse(_ bytes: ByteBuffer, allocator: ByteBufferAllocator, emit: Emit) throws(StreamFrameError) {
        guard !failed else { return }
        var input = partialHeader.take(followedBy: bytes)
        do throws(StreamFrameError) {
            while input.readableBytes > 0 {
                if var frame = current {
                    let count = min(frame.length - frame.payload.readableBytes, input.readableBytes)
                    current = nil   // so the write below does not copy the payload
                    var piece = input.readSlice(length: count)!
                    frame.payload.writeBuffer(&piece)
                    if frame.payload.readableBytes == frame.length {
                        emit(frame.opcode, frame.payload)
                    } else {
                        current = frame
                    }
                    continue
                }
                guard input.readableBytes >= StreamFraming.headerSize else {
                    partialHeader = input
                    break
                }
                let (opcode, length) = try header(input)
                input.moveReaderIndex(forwardBy: StreamFraming.headerSize)
                if input.readableBytes >= length {
                    emit(opcode, input.readSlice(length: length)!)
                } else {
                    current = (opcode, length, allocator.buffer(capacity: length))
                }
            }
        } catch {
            failed = true
            current = nil
            throw error
        }
    }

    private func header(_ input: ByteBuffer) throws(StreamFrameError) -> (WebSocketOpcode, Int) {
        let kind = input.getInteger(at: input.readerIndex, as: UInt8.self)!
        let length = Int(input.getInteger(at: input.readerIndex + 1, as: UInt32.self)!)
        guard kind < 16, let opcode = WebSocketOpcode(encodedWebSocketOpcode: kind), StreamFraming.isKnown(opcode) else {
            throw .unknownKind(kind)
        }
        if opcode.isControlOpcode {
            guard length <= StreamFraming.maxControlPayload else { throw .controlTooBig(length: length) }
        } else if length > maxMessageSize {
            throw .tooBig(length: length, limit: maxMessageSize)
        }
        return (opcode, length)
    }
}
