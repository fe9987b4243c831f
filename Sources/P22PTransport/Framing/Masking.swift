/// A frame's 4-byte masking key, its bytes in wire order. Our own rather
/// than NIO's `WebSocketMaskingKey`, whose only public initializer takes a
/// generic collection: an array and an unspecialized call per frame, 2% of
/// the relay's CPU in a round-trip benchmark.
struct MaskKey: Equatable {
    /// The key's bytes as they lie in memory, in wire order.
    let word: UInt32

    init(word: UInt32) { self.word = word }

    /// Reads the key from the first four bytes of `wire`.
    init(wire: UnsafeRawBufferPointer) { word = wire.loadUnaligned(as: UInt32.self) }

    /// A fresh key for a client's frame, as RFC 6455 5.3 asks.
    static func random() -> MaskKey { MaskKey(word: .random(in: .min ... .max)) }

    /// Writes the key into the first four bytes of `wire`.
    func write(into wire: UnsafeMutableRawBufferPointer) { wire.storeBytes(of: word, as: UInt32.self) }

    subscript(index: Int) -> UInt8 { withUnsafeBytes(of: word) { $0[index & 3] } }
}

/// RFC 6455 masking, a word at a time. NIO's own goes byte by byte with a
/// modulo per byte: that was half of all CPU time of a sending member and a
/// sixth of the relay's in a bulk transfer (perf, 2 GiB through one forward).
enum Masking {
    /// XORs `source` with `key` into `destination`, which may be the same
    /// memory. `offset` is the position in the frame's payload where `source`
    /// starts, since a frame can arrive in pieces.
    static func apply(
        _ key: MaskKey, offset: Int,
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
        if count >= 32, let from = source.baseAddress, let to = destination.baseAddress {
            // Four words per step: about 50 GB/s here, where one word per
            // step made 15 and SIMD32<UInt8> under 1. 8 is a multiple of 4,
            // so the pattern lines up with every word.
            while index + 32 <= count {
                let a = from.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let b = from.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                let c = from.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
                let d = from.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
                to.storeBytes(of: a ^ pattern, toByteOffset: index, as: UInt64.self)
                to.storeBytes(of: b ^ pattern, toByteOffset: index + 8, as: UInt64.self)
                to.storeBytes(of: c ^ pattern, toByteOffset: index + 16, as: UInt64.self)
                to.storeBytes(of: d ^ pattern, toByteOffset: index + 24, as: UInt64.self)
                index += 32
            }
        }
        while index < count {
            destination[index] = source[index] ^ keyByte(offset + index)
            index += 1
        }
    }
}
