/// Rules for the names users type: group names and member names.
public enum Names {
    /// Group names are free text (they may contain spaces or start with `#`)
    /// but bounded and free of control characters.
    public static func validateGroup(_ name: String) throws(WireError) {
        let bytes = name.utf8.count
        guard bytes > 0 else { throw .invalidName(field: "group name", reason: "empty") }
        guard bytes <= Limits.maxNameBytes else {
            throw .fieldTooLong(field: "group name", length: bytes, limit: Limits.maxNameBytes)
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidName(field: "group name", reason: "contains control characters")
        }
    }

    /// Member names appear in `PEER:LOCAL:REMOTE` forward specs and next to
    /// numeric CIDs, so they are restricted to letters, digits, `.`, `_` and
    /// `-`, and may not be all digits (that would read as a CID).
    public static func validateMember(_ name: String) throws(WireError) {
        let bytes = name.utf8.count
        guard bytes > 0 else { throw .invalidName(field: "member name", reason: "empty") }
        guard bytes <= Limits.maxNameBytes else {
            throw .fieldTooLong(field: "member name", length: bytes, limit: Limits.maxNameBytes)
        }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard allowed else {
            throw .invalidName(field: "member name", reason: "\"\(name)\" may only use letters, digits, '.', '_' and '-'")
        }
        guard !name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalidName(field: "member name", reason: "\"\(name)\" is all digits and would read as a CID")
        }
    }
}
