import NIOCore

/// How a relay link reads from its socket. NIO's default reads at most
/// 64 KiB at a time, less than one full data frame, so nearly every frame
/// spanned two reads and had to be copied together; with reads of up to
/// 256 KiB most frames lie whole in one read and go on as slices of it.
public enum LinkReads {
    public static let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024)
}
