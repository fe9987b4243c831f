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
    /// Default upper bound on one WebSocket message; room for a full data chunk
    /// plus every header and the AEAD tag.
    public static let defaultMaxFrameSize = maxDataChunk + 1024
    /// Most members one group can hold (every non-zero CID).
    public static let maxMembersPerGroup = Int(UInt16.max)
}
