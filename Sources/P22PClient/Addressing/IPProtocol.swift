/// What a forward carries, and what an allow-list entry lets in: TCP
/// connections (the default) or UDP datagrams, written with a `/udp` suffix
/// (`9000/udp`, `host:5000:9000/udp`), as in /etc/services.
public enum IPProtocol: String, Sendable, Hashable, CaseIterable {
    case tcp, udp

    /// `text` without a trailing `/tcp` or `/udp` (any case), and which it was.
    public static func split(_ text: String) -> (String, IPProtocol) {
        for kind in allCases where text.lowercased().hasSuffix("/" + kind.rawValue) {
            return (String(text.dropLast(kind.rawValue.count + 1)), kind)
        }
        return (text, .tcp)
    }

    /// The suffix that names it in text: nothing for TCP.
    public var suffix: String { self == .udp ? "/udp" : "" }
}
