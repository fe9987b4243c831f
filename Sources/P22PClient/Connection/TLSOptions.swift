/// How a member checks a wss:// or tls:// relay. By default the system trust store.
public struct TLSOptions: Sendable, Equatable {
    /// Trust only this PEM CA bundle instead of the system store.
    public var caFile: String?
    /// SHA-256 of the relay certificate's DER encoding. When set, the relay
    /// must present exactly that certificate (after the usual verification).
    public var pinSHA256: [UInt8]?

    public init(caFile: String? = nil, pinSHA256: [UInt8]? = nil) {
        self.caFile = caFile
        self.pinSHA256 = pinSHA256
    }

    /// Parses 64 hex digits, with or without colons.
    public static func parsePin(_ text: String) -> [UInt8]? {
        let hex = text.lowercased().filter { $0 != ":" }
        guard hex.count == 64, hex.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
