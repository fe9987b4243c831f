import P22PWire

/// scrypt cost for turning a group password into keys. The creator's cost
/// travels to joiners with the group's salt; `standard` is what the tools
/// create with and also the least they accept, so a relay cannot ask joiners
/// for a cheaper hash of their password.
public struct KDFParameters: Sendable, Equatable {
    /// scrypt's N is 2^logN.
    public var logN: UInt8
    public var blockSize: UInt8
    public var parallelism: UInt8

    public init(logN: UInt8, blockSize: UInt8, parallelism: UInt8) {
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// N = 2^17, r = 8, p = 1: 128 MiB of memory and about 0.3 s per guess in
    /// a release build (RFC 7914's interactive-login cost is 2^14).
    public static let standard = KDFParameters(logN: 17, blockSize: 8, parallelism: 1)

    public var rounds: Int { 1 << Int(logN) }

    /// Memory per derivation (128·N·r bytes), the measure of strength compared
    /// with a floor: a relay could trade N for r or p otherwise.
    public var memoryBytes: Int { 128 * rounds * Int(blockSize) }

    public func isAtLeast(_ floor: KDFParameters) -> Bool {
        memoryBytes >= floor.memoryBytes && Int(parallelism) * memoryBytes >= Int(floor.parallelism) * floor.memoryBytes
    }

    /// The most memory a client spends on one derivation (1 GiB, eight times
    /// the standard): a relay must not make a joining member allocate
    /// whatever it likes.
    public static let memoryCeiling = 1 << 30

    public var isWithinCeiling: Bool { memoryBytes <= Self.memoryCeiling && parallelism <= 4 }

    public var description: String { "scrypt N=2^\(logN) r=\(blockSize) p=\(parallelism)" }

    public func derivation(salt: [UInt8]) -> KeyDerivation {
        KeyDerivation(salt: salt, logN: logN, blockSize: blockSize, parallelism: parallelism)
    }

    public init(_ derivation: KeyDerivation) {
        self.init(logN: derivation.logN, blockSize: derivation.blockSize, parallelism: derivation.parallelism)
    }
}
