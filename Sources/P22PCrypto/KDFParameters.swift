/// scrypt cost for turning a group password into keys. Every member of a group
/// must use the same parameters, so they are part of the protocol version, not
/// a per-user setting; `standard` is what the tools use.
public struct KDFParameters: Sendable, Equatable {
    public var rounds: Int
    public var blockSize: Int
    public var parallelism: Int

    public init(rounds: Int, blockSize: Int, parallelism: Int) {
        self.rounds = rounds
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// N = 2^15, r = 8, p = 1: 32 MiB of memory and about 70 ms per derivation
    /// in a release build, which makes offline guessing of a password taken
    /// from a relay's memory expensive.
    public static let standard = KDFParameters(rounds: 1 << 15, blockSize: 8, parallelism: 1)
}
