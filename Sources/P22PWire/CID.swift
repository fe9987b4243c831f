/// A member's numeric id, unique within its group while the member is connected.
///
/// Zero is never given to a member, so 65,535 members fit in a group.
public struct CID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ value: UInt16) { self.rawValue = value }

    public static func < (lhs: CID, rhs: CID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}
