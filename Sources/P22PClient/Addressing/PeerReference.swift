import P22PWire

/// How a user names a peer: by member name or by CID.
public enum PeerReference: Hashable, Sendable, CustomStringConvertible {
    case name(String)
    case cid(CID)

    public init(parsing text: String) throws(AddressError) {
        if let number = UInt16(text), number > 0 {
            self = .cid(CID(number))
        } else if (try? Names.validateMember(text)) != nil {
            self = .name(text)
        } else {
            throw .malformed(text, expected: "a member name or CID")
        }
    }

    public var description: String {
        switch self {
        case .name(let name): name
        case .cid(let cid): "CID \(cid)"
        }
    }
}
