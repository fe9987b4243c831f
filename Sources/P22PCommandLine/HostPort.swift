/// `HOST:PORT` for listen addresses, with `[::1]:PORT` for IPv6.
public enum HostPort {
    public static func parse(_ text: String) throws(CommandError) -> (host: String, port: Int) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .usage("\"\(text)\" is not HOST:PORT") }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .usage("\"\(text)\" is not HOST:PORT") }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else {
            throw .usage("\"\(text)\" is not HOST:PORT")
        }
        return (String(host), number)
    }
}
