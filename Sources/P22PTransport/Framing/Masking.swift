import NIOWebSocket

/// RFC 6455 masking, eight bytes at a time. NIO's own goes byte by byte with a
/// modulo per byte: that was half of all CPU time of a sending member and a
/// sixth of the relay's in a bulk transfer (perf, 2 GiB through one forward).
enum Masking {
    /// XORs `source` with `key` into `destination`, which may be the same
    /// memory. `offset` is the position in the frame's payload where `source`
    /// starts, since a frame can arrive in pieces.
    static func apply(
        _ key: WebSocketMaskingKey, offset: Int,
        from source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer
    ) {
        precondition(destination.count >= source.count)
        let count = source.count
        let keyBytes = (key[0], key[1], key[2], key[3])
        func keyByte(_ position: Int) -> UInt8 {
            switch position & 3 {
            case 0: keyBytes.0
            case 1: keyBytes.1
            case 2: keyBytes.2
            default: keyBytes.3
            }
        }
        var pattern: UInt64 = 0
        withUnsafeMutableBytes(of: &pattern) { raw in
            for index in 0..<8 { raw[index] = keyByte(offset + index) }
        }
        var index = 0
        // 8 is a multiple of 4, so the pattern lines up with every 8-byte word.
        while index + 8 <= count {
            let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            destination.storeBytes(of: word ^ pattern, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            destination[index] = source[index] ^ keyByte(offset + index)
            index += 1
        }
    }
}
