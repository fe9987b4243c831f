/// Protocol-wide size limits, shared by both ends so neither accepts what the
/// other would refuse.
public enum Limits {
    /// Longest group or member name, in UTF-8 bytes.
    public static let maxNameBytes = 64
    /// Longest human-readable reason or error message, in UTF-8 bytes.
    public static let maxMessageBytes = 512
    /// Largest plaintext a member puts in one data frame. TCP reads are split
    /// to this size so one stream cannot monopolise the shared WebSocket.
    public static let maxDataChunk = 64 * 1024
    /// Room in a frame for everything but data: relayed, sealed and stream
    /// headers and the AEAD tag, with margin.
    public static let frameOverhead = 1024
    /// Default upper bound on one WebSocket message; room for a full data chunk
    /// plus every header and the AEAD tag. Also the most a client accepts.
    public static let defaultMaxFrameSize = maxDataChunk + frameOverhead
    /// The smallest maximum frame size a relay may set.
    public static let minFrameSize = 4096

    /// The data chunk that fits a relay's maximum frame size.
    public static func dataChunk(forFrameSize frameSize: Int) -> Int {
        max(1, min(maxDataChunk, frameSize - frameOverhead))
    }
    /// Most members one group can hold (every non-zero CID).
    public static let maxMembersPerGroup = Int(UInt16.max)
}
