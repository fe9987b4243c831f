import NIOCore

extension Optional where Wrapped == ByteBuffer {
    /// What a reader held back from earlier reads (the start of a header or
    /// preamble split across reads), followed by `bytes`; nothing is held
    /// any more. Only a read that follows a split is copied.
    public mutating func take(followedBy bytes: ByteBuffer) -> ByteBuffer {
        guard var held = self else { return bytes }
        // Dropped first: with a second reference the append would copy `held`.
        self = nil
        var rest = bytes
        held.writeBuffer(&rest)
        return held
    }
}
