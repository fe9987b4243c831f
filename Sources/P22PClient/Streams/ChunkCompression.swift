import CompressNIO
import NIOCore
import P22PWire

/// Deflate for the data chunks of streams that asked for compression
/// (`compress: true`). Each chunk is compressed on its own, with the state
/// reset in between, so no dictionary is shared between chunks or streams:
/// one pair of zlib contexts serves every stream of a session.
final class ChunkCompression {
    private let compressor: ZlibCompressor
    private let decompressor: ZlibDecompressor

    /// zlib level 3, as the original p22p used: most of the gain on text
    /// for a fraction of level 6's time.
    init() throws {
        compressor = try ZlibCompressor(algorithm: .deflate, configuration: ZlibConfiguration(windowSize: 15, compressionLevel: 3, memoryLevel: 8))
        decompressor = try ZlibDecompressor(algorithm: .deflate)
    }

    /// The chunk deflated, or nil if that would not save 10% of it. With
    /// `sampleFirst`, its first 4 KiB are tried alone first: deflating a
    /// whole chunk that does not compress costs more than sending it.
    func compress(_ chunk: ByteBuffer, sampleFirst: Bool, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard chunk.readableBytes >= 64 else { return nil }
        if sampleFirst, chunk.readableBytes > 2 * Self.sample,
           deflated(chunk.getSlice(at: chunk.readerIndex, length: Self.sample)!, allocator: allocator) == nil {
            return nil
        }
        return deflated(chunk, allocator: allocator)
    }

    private static let sample = 4096

    private func deflated(_ chunk: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var input = chunk
        // Output that does not fit in 90% of the input is not worth sending.
        var output = allocator.buffer(capacity: chunk.readableBytes * 9 / 10)
        defer { try? compressor.reset() }
        do {
            try compressor.deflate(from: &input, to: &output, flush: .finish)
        } catch {
            return nil
        }
        return output
    }

    /// Inflates one chunk; nil if it is not valid deflate or inflates to
    /// more than a chunk may hold (a bomb).
    func decompress(_ chunk: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var input = chunk
        var output = allocator.buffer(capacity: Limits.maxDataChunk)
        defer { try? decompressor.reset() }
        do {
            try decompressor.inflate(from: &input, to: &output)
        } catch {
            return nil
        }
        guard input.readableBytes == 0 else { return nil }
        return output
    }
}

/// When to try compressing the next chunk of one stream: always while it
/// pays, and after a chunk that did not shrink, only every 2nd, 4th, ... up
/// to every 64th chunk, and then on a sample first, so incompressible data
/// costs almost nothing.
struct CompressionProbe {
    private var skip = 0
    private var skipped = 0

    /// The last chunk did not shrink: test a sample before the whole chunk.
    var isDoubtful: Bool { skip > 0 }

    mutating func shouldTry() -> Bool {
        guard skipped >= skip else {
            skipped += 1
            return false
        }
        skipped = 0
        return true
    }

    mutating func record(shrank: Bool) {
        skip = shrank ? 0 : min(max(1, skip * 2), 64)
    }
}
