/// Why the relay refused a request. The relay sends the code and a sentence;
/// clients turn the code into the user-facing message so it reads the same in
/// every tool.
public enum RefusalCode: UInt16, Sendable, Equatable {
    case groupExists = 1
    case noSuchGroup = 2
    case wrongPassword = 3
    case nameInUse = 4
    case groupFull = 5
    case invalidRequest = 6
    case versionMismatch = 7
    case alreadyJoined = 8
    case tooManyGroups = 9
    case reservedName = 10
    case rateLimited = 11
    case notSupported = 12
    case other = 0xFFFF
}
