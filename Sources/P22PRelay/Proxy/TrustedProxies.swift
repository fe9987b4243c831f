/// The load balancers and reverse proxies (`--trusted-proxy`) whose word
/// about the client's address the relay takes. Only a connection from one of
/// them may carry a PROXY header, and only for one of them is
/// X-Forwarded-For read; everyone else is known by their TCP address.
public struct TrustedProxies: Sendable, Equatable {
    let blocks: [CIDR]

    public static let none = TrustedProxies(blocks: [])

    /// From `192.0.2.10`, `10.0.0.0/8`, `2001:db8::/32`…; the failure names
    /// the first one that is not an address or block.
    public static func parse(_ texts: [String]) -> Result<TrustedProxies, TrustedProxyError> {
        var blocks: [CIDR] = []
        for text in texts {
            guard let block = CIDR(text) else { return .failure(TrustedProxyError(text: text)) }
            blocks.append(block)
        }
        return .success(TrustedProxies(blocks: blocks))
    }

    var isEmpty: Bool { blocks.isEmpty }

    func trusts(_ address: IPAddress) -> Bool { blocks.contains { $0.contains(address) } }

    /// The client behind a request that `peer` passed on with these
    /// X-Forwarded-For values (each a comma-separated list, in header order):
    /// walking from the right, the first address that is not a trusted
    /// proxy. Entries left of it are whatever the client claimed and are
    /// never believed. An entry that is not an address ends the walk at the
    /// proxy that wrote it; if every entry is a trusted proxy, the left-most
    /// one is the client.
    func client(peer: IPAddress, forwardedFor values: [String]) -> IPAddress {
        let entries = values.flatMap { $0.split(separator: ",") }
        var client = peer
        for entry in entries.reversed() {
            guard trusts(client), let address = Self.address(in: entry) else { break }
            client = address
        }
        return client
    }

    /// `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`, `[2001:db8::1]:443`.
    static func address(in entry: Substring) -> IPAddress? {
        var text = entry.trimmingCharacters(in: " \t\"")
        if text.first == "[", let close = text.firstIndex(of: "]") {
            text = String(text[text.index(after: text.startIndex)..<close])
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = String(text[..<colon])
        }
        return IPAddress(text)
    }
}

/// A `--trusted-proxy` value that is not an address or CIDR block.
public struct TrustedProxyError: Error, CustomStringConvertible {
    public let text: String
    public var description: String {
        "\(text) is not an IP address or CIDR block (such as 10.0.0.0/8 or 2001:db8::/32, with no host bits set)"
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
