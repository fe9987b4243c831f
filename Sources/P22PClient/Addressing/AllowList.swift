/// The targets this member lets peers open on its machine. Empty by default:
/// a member exposes only what it declares. TCP and UDP are allowed apart: a
/// bare entry (`8000`) lets in TCP only, `8000/udp` UDP only.
public struct AllowList: Sendable, Equatable {
    public private(set) var entries: [TargetAddress]
    public private(set) var udpEntries: [TargetAddress]

    public init(_ entries: [TargetAddress] = [], udp udpEntries: [TargetAddress] = []) {
        self.entries = []
        self.udpEntries = []
        for entry in entries { allow(entry) }
        for entry in udpEntries { allow(entry, .udp) }
    }

    /// Parses `--allow` values: `PORT` or `HOST:PORT`, with `/udp` for UDP.
    public init(parsing values: [String]) throws(AddressError) {
        var list = AllowList()
        for value in values {
            let (target, ipProtocol) = try Self.entry(parsing: value)
            list.allow(target, ipProtocol)
        }
        self = list
    }

    /// One `--allow` value: the address and whether it is for UDP.
    public static func entry(parsing value: String) throws(AddressError) -> (TargetAddress, IPProtocol) {
        let (text, ipProtocol) = IPProtocol.split(value)
        do {
            return (try TargetAddress(parsing: text), ipProtocol)
        } catch {
            // "9000/sctp" reads as a bad port; the fix is the suffix.
            throw .malformed(value, expected: "PORT or HOST:PORT, with /udp at the end for UDP")
        }
    }

    public mutating func allow(_ target: TargetAddress, _ ipProtocol: IPProtocol = .tcp) {
        let normalized = target.normalized
        switch ipProtocol {
        case .tcp: if !entries.contains(normalized) { entries.append(normalized) }
        case .udp: if !udpEntries.contains(normalized) { udpEntries.append(normalized) }
        }
    }

    public mutating func deny(_ target: TargetAddress, _ ipProtocol: IPProtocol = .tcp) {
        switch ipProtocol {
        case .tcp: entries.removeAll { $0 == target.normalized }
        case .udp: udpEntries.removeAll { $0 == target.normalized }
        }
    }

    public func permits(_ target: TargetAddress, _ ipProtocol: IPProtocol = .tcp) -> Bool {
        checkedAddress(for: target, ipProtocol) != nil
    }

    /// The address to dial for a permitted target: exactly the entry it was
    /// checked against, never the peer's spelling of it (which could
    /// resolve differently: `LOCALHOST`, a trailing dot, another family).
    public func checkedAddress(for target: TargetAddress, _ ipProtocol: IPProtocol = .tcp) -> TargetAddress? {
        let normalized = target.normalized
        return (ipProtocol == .tcp ? entries : udpEntries).first { $0 == normalized }
    }

    public var isEmpty: Bool { entries.isEmpty && udpEntries.isEmpty }

    /// Every entry as users write it: `127.0.0.1:8000`, `127.0.0.1:9000/udp`.
    public var descriptions: [String] {
        entries.map(\.description) + udpEntries.map { "\($0)/udp" }
    }
}
