/// "Listen on `listen` here; carry each connection to `target` as seen from `peer`."
public struct ForwardSpec: Hashable, Sendable, CustomStringConvertible {
    public var peer: PeerReference
    public var listen: TargetAddress
    public var target: TargetAddress
    /// The static key the peer must prove (`peer_key:`); any other is refused.
    public var peerKey: [UInt8]?
    /// Deflate the data of its connections (`compress: true`, `--compress`).
    public var compress: Bool
    /// TCP connections, or UDP datagrams (`protocol: udp`, a `/udp` suffix).
    public var ipProtocol: IPProtocol

    public init(peer: PeerReference, listen: TargetAddress, target: TargetAddress, peerKey: [UInt8]? = nil, compress: Bool = false,
                ipProtocol: IPProtocol = .tcp) {
        self.peer = peer
        self.listen = listen
        self.target = target
        self.peerKey = peerKey
        self.compress = compress
        self.ipProtocol = ipProtocol
    }

    public var description: String { "\(listen) -> \(peer) \(target)\(ipProtocol.suffix)" }

    public static let syntax = "PEER:LOCAL:REMOTE, PEER:LOCAL:HOST:REMOTE or PEER:BIND:LOCAL:HOST:REMOTE, with /udp at the end for UDP"

    /// Parses `--relay` values. LOCAL may be 0 for any free port; the bind
    /// address defaults to loopback so a forward is never exposed by accident.
    public init(parsing whole: String) throws(AddressError) {
        let (text, ipProtocol) = IPProtocol.split(whole)
        // "2222:22/sctp" reads as a bad port; the fix is the suffix.
        guard !text.contains("/") else { throw .malformed(whole, expected: Self.syntax) }
        let parts = try AddressParts.split(text)
        guard parts.count >= 3, parts.count <= 5, !parts.contains(where: \.isEmpty) else {
            throw .malformed(whole, expected: Self.syntax)
        }
        let peer = try PeerReference(parsing: parts[0])
        let bind = parts.count == 5 ? try AddressParts.host(parts[1], in: whole) : "127.0.0.1"
        let local = try AddressParts.port(parts[parts.count == 5 ? 2 : 1], in: whole, allowZero: true)
        let host = parts.count >= 4 ? try AddressParts.host(parts[parts.count - 2], in: whole) : "127.0.0.1"
        let remote = try AddressParts.port(parts[parts.count - 1], in: whole)
        self.init(peer: peer, listen: TargetAddress(host: bind, port: local), target: TargetAddress(host: host, port: remote),
                  ipProtocol: ipProtocol)
    }
}
