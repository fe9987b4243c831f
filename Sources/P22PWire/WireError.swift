/// Why bytes from the network could not be understood.
///
/// Every decoder in this module throws only this type, so the relay can log one
/// reason and close exactly the offending connection.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(what: String)
    case unknownKind(UInt8, context: String)
    case fieldTooLong(field: String, length: Int, limit: Int)
    case invalidName(field: String, reason: String)
    case trailingBytes(context: String, count: Int)
    case invalidUTF8(field: String)
    case invalidValue(field: String, value: String)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated \(what)"
        case .unknownKind(let kind, let context): return "unknown \(context) kind 0x\(String(kind, radix: 16))"
        case .fieldTooLong(let field, let length, let limit): return "\(field) is \(length) bytes, limit \(limit)"
        case .invalidName(let field, let reason): return "invalid \(field): \(reason)"
        case .trailingBytes(let context, let count): return "\(count) unexpected bytes after \(context)"
        case .invalidUTF8(let field): return "\(field) is not valid UTF-8"
        case .invalidValue(let field, let value): return "\(field) \(value) is out of range"
        }
    }
}
