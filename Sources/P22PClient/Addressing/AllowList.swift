/// The targets this member lets peers open on its machine. Empty by default:
/// a member exposes only what it declares.
public struct AllowList: Sendable, Equatable {
    public private(set) var entries: [TargetAddress]

    public init(_ entries: [TargetAddress] = []) {
        self.entries = []
        for entry in entries { allow(entry) }
    }

    /// Parses `--allow` values: `PORT` or `HOST:PORT`.
    public init(parsing values: [String]) throws(AddressError) {
        var list = AllowList()
        for value in values { list.allow(try TargetAddress(parsing: value)) }
        self = list
    }

    public mutating func allow(_ target: TargetAddress) {
        let normalized = target.normalized
        if !entries.contains(normalized) { entries.append(normalized) }
    }

    public mutating func deny(_ target: TargetAddress) {
        entries.removeAll { $0 == target.normalized }
    }

    public func permits(_ target: TargetAddress) -> Bool {
        entries.contains(target.normalized)
    }

    /// The address to dial for a permitted target: exactly the entry it was
    /// checked against, never the peer's spelling of it (which could
    /// resolve differently: `LOCALHOST`, a trailing dot, another family).
    public func checkedAddress(for target: TargetAddress) -> TargetAddress? {
        let normalized = target.normalized
        return entries.first { $0 == normalized }
    }
}
