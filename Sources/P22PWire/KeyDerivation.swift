import NIOCore

/// How a group's password becomes keys: a random salt and an scrypt cost,
/// chosen by the creator, kept by the relay and handed to every joiner in the
/// relay's hello. A random salt per group makes a table of guesses built for
/// one group name useless against another group or relay; the cost is on the
/// wire so it can grow, and every client refuses a cost below its own floor,
/// so a relay cannot make guessing cheap by asking for less.
public struct KeyDerivation: Hashable, Sendable {
    public var salt: [UInt8]
    /// scrypt's N is 2^logN.
    public var logN: UInt8
    public var blockSize: UInt8
    public var parallelism: UInt8

    public init(salt: [UInt8], logN: UInt8, blockSize: UInt8, parallelism: UInt8) {
        self.salt = salt
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    public static let saltSize = 16
    public static let encodedSize = saltSize + 3

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(salt)
        buffer.writeInteger(logN)
        buffer.writeInteger(blockSize)
        buffer.writeInteger(parallelism)
    }

    public var encoded: [UInt8] {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func decode(_ buffer: inout ByteBuffer) throws(WireError) -> KeyDerivation {
        let salt = try buffer.readFixedBytes(saltSize, field: "password salt")
        let logN = try buffer.readWireInteger(as: UInt8.self, field: "scrypt cost")
        let blockSize = try buffer.readWireInteger(as: UInt8.self, field: "scrypt block size")
        let parallelism = try buffer.readWireInteger(as: UInt8.self, field: "scrypt parallelism")
        // Bounded so a hostile relay cannot make a client allocate gigabytes.
        guard (10...22).contains(logN), (1...32).contains(blockSize), (1...16).contains(parallelism) else {
            throw .invalidValue(field: "password hashing cost", value: "N=2^\(logN) r=\(blockSize) p=\(parallelism)")
        }
        return KeyDerivation(salt: salt, logN: logN, blockSize: blockSize, parallelism: parallelism)
    }
}
