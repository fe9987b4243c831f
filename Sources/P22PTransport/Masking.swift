import NIOCore
import NIOWebSocket

/// WebSocket unmasking eight bytes at a time. NIO's own goes byte by byte
/// with a modulo per byte, which was a sixth of all CPU time of a bulk
/// transfer in the relay (perf, 1 GiB through one forward).
enum Masking {
    /// A copy of `data` with `key` removed, in a buffer of its own.
    static func unmasked(_ data: ByteBuffer, key: WebSocketMaskingKey, allocator: ByteBufferAllocator) -> ByteBuffer {
        let count = data.readableBytes
        var out = allocator.buffer(capacity: count)
        let keyBytes = [key[0], key[1], key[2], key[3]]
        var pattern: UInt64 = 0
        withUnsafeMutableBytes(of: &pattern) { raw in
            for index in 0..<8 { raw[index] = keyBytes[index % 4] }
        }
        data.withUnsafeReadableBytes { source in
            _ = out.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
                var index = 0
                // Frames start at key offset 0 and 8 is a multiple of 4, so the
                // pattern lines up with every 8-byte word.
                while index + 8 <= count {
                    let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    destination.storeBytes(of: word ^ pattern, toByteOffset: index, as: UInt64.self)
                    index += 8
                }
                while index < count {
                    destination[index] = source[index] ^ keyBytes[index % 4]
                    index += 1
                }
                return count
            }
        }
        return out
    }
}
