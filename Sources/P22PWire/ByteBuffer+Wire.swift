import NIOCore

// Length-prefixed fields with the limits checked on the way in and out; the
// decoders never trust a length they have not bounded.
extension ByteBuffer {
    mutating func writeShortString(_ string: String) {
        precondition(string.utf8.count <= Int(UInt8.max))
        writeInteger(UInt8(string.utf8.count))
        writeString(string)
    }

    mutating func readShortString(field: String, limit: Int = Limits.maxNameBytes) throws(WireError) -> String {
        guard let length = readInteger(as: UInt8.self) else { throw .truncated(what: field) }
        guard Int(length) <= limit else { throw .fieldTooLong(field: field, length: Int(length), limit: limit) }
        return try readUTF8(length: Int(length), field: field)
    }

    /// Strings on the wire must be valid UTF-8: repairing them would make
    /// what the relay checked differ from what it passes on.
    mutating func readUTF8(length: Int, field: String) throws(WireError) -> String {
        guard let bytes = readBytes(length: length) else { throw .truncated(what: field) }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return string
    }

    mutating func writeLongString(_ string: String) {
        // Clip on a character boundary so the result never grows past the limit.
        var clipped = ""
        for character in string {
            guard clipped.utf8.count + character.utf8.count <= Limits.maxMessageBytes else { break }
            clipped.append(character)
        }
        writeInteger(UInt16(clipped.utf8.count))
        writeString(clipped)
    }

    mutating func readLongString(field: String) throws(WireError) -> String {
        guard let length = readInteger(as: UInt16.self) else { throw .truncated(what: field) }
        guard Int(length) <= Limits.maxMessageBytes else {
            throw .fieldTooLong(field: field, length: Int(length), limit: Limits.maxMessageBytes)
        }
        return try readUTF8(length: Int(length), field: field)
    }

    mutating func readKey(field: String) throws(WireError) -> [UInt8] {
        let length = Int(try readWireInteger(as: UInt16.self, field: field))
        guard length <= ControlMessage.maxKeyBytes else {
            throw .fieldTooLong(field: field, length: length, limit: ControlMessage.maxKeyBytes)
        }
        return try readFixedBytes(length, field: field)
    }

    mutating func readFixedBytes(_ count: Int, field: String) throws(WireError) -> [UInt8] {
        guard let bytes = readBytes(length: count) else { throw .truncated(what: field) }
        return bytes
    }

    mutating func readWireInteger<T: FixedWidthInteger>(as: T.Type = T.self, field: String) throws(WireError) -> T {
        guard let value = readInteger(as: T.self) else { throw .truncated(what: field) }
        return value
    }

    func expectEnd(of context: String) throws(WireError) {
        guard readableBytes == 0 else { throw .trailingBytes(context: context, count: readableBytes) }
    }
}
