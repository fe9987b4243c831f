import NIOCore
import NIOWebSocket

/// The header of one RFC 6455 frame, as read off the wire or about to be
/// written. No extensions are negotiated, so the RSV bits must be clear.
struct WebSocketFrameHeader: Equatable {
    var fin: Bool
    var opcode: WebSocketOpcode
    var maskKey: MaskKey?
    var length: Int

    /// 2 bytes, up to 8 of extended length, 4 of masking key.
    static let maxSize = 14

    static func size(length: Int, masked: Bool) -> Int {
        (length < 126 ? 2 : length <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
    }

    var size: Int { Self.size(length: length, masked: maskKey != nil) }

    /// Parses the header at the start of `bytes`: nil while it is incomplete,
    /// else the header and how many bytes it took.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxLength: Int) throws(WebSocketFrameError) -> (WebSocketFrameHeader, Int)? {
        guard bytes.count >= 2 else { return nil }
        let first = bytes[0], second = bytes[1]
        guard first & 0x70 == 0 else { throw .protocolViolation("reserved bits set without an extension") }
        let opcode = WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!
        switch opcode {
        case .continuation, .text, .binary, .connectionClose, .ping, .pong: break
        default: throw .protocolViolation("unknown opcode \(first & 0x0F)")
        }
        let fin = first & 0x80 != 0
        let masked = second & 0x80 != 0
        var length = Int(second & 0x7F)
        var used = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            used = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            var wide: UInt64 = 0
            for index in 2..<10 { wide = wide << 8 | UInt64(bytes[index]) }
            guard wide <= UInt64(Int32.max) else { throw .tooBig(length: Int(clamping: wide), limit: maxLength) }
            length = Int(wide)
            used = 10
        }
        var maskKey: MaskKey?
        if masked {
            guard bytes.count >= used + 4 else { return nil }
            maskKey = MaskKey(wire: UnsafeRawBufferPointer(rebasing: bytes[used..<used + 4]))
            used += 4
        }
        if opcode.isControlOpcode {
            guard fin else { throw .protocolViolation("fragmented control frame") }
            guard length <= 125 else { throw .protocolViolation("control frame of \(length) bytes") }
        } else if length > maxLength {
            throw .tooBig(length: length, limit: maxLength)
        }
        return (WebSocketFrameHeader(fin: fin, opcode: opcode, maskKey: maskKey, length: length), used)
    }

    /// Writes the header into the first `size` bytes of `destination`.
    func write(into destination: UnsafeMutableRawBufferPointer) {
        var used = 2
        destination[0] = (fin ? 0x80 : 0) | UInt8(webSocketOpcode: opcode)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        if length < 126 {
            destination[1] = maskBit | UInt8(length)
        } else if length <= 0xFFFF {
            destination[1] = maskBit | 126
            destination[2] = UInt8(truncatingIfNeeded: length >> 8)
            destination[3] = UInt8(truncatingIfNeeded: length)
            used = 4
        } else {
            destination[1] = maskBit | 127
            for index in 0..<8 { destination[2 + index] = UInt8(truncatingIfNeeded: UInt64(length) >> (56 - 8 * UInt64(index))) }
            used = 10
        }
        if let maskKey {
            maskKey.write(into: UnsafeMutableRawBufferPointer(rebasing: destination[used..<used + 4]))
        }
    }
}

/// A frame that breaks RFC 6455 or the size limit; the link is closed with
/// the matching close code.
public enum WebSocketFrameError: Error, Equatable, CustomStringConvertible {
    case protocolViolation(String)
    case tooBig(length: Int, limit: Int)

    public var closeCode: WebSocketErrorCode {
        switch self {
        case .protocolViolation: .protocolError
        case .tooBig: .messageTooLarge
        }
    }

    public var description: String {
        switch self {
        case .protocolViolation(let what): "WebSocket protocol violation: \(what)"
        case .tooBig(let length, let limit): "WebSocket message of \(length) bytes, more than the limit of \(limit)"
        }
    }
}
