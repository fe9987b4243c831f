import NIOCore

/// The header a load balancer (HAProxy, nginx, AWS NLB…) puts before a
/// connection's first byte to say whom it carries: PROXY protocol version 1
/// (one text line) or 2 (binary), as specified in HAProxy's proxy-protocol.txt.
/// Only the addresses are kept; version 2's TLVs are skipped.
struct ProxyProtocolHeader: Equatable, Sendable {
    var version: Int
    /// The client's address and port. Nil when the proxy says it does not
    /// know or does not matter: a v1 `UNKNOWN`, a v2 `LOCAL` (the proxy's own
    /// health check) or a v2 address family other than IPv4 and IPv6.
    var source: IPAddress?
    var sourcePort: Int?
    var destination: IPAddress?
    var destinationPort: Int?

    enum Parse: Equatable {
        /// What has arrived is the start of a header, or too short to tell.
        case needMoreData
        /// The connection does not start with a PROXY header.
        case absent
        /// A whole header of `length` bytes.
        case header(ProxyProtocolHeader, length: Int)
        /// It starts like a header but breaks the format: the reason.
        case invalid(String)
    }

    static let v1Prefix = Array("PROXY ".utf8)
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// "PROXY UNKNOWN " + two 39-character addresses + two ports + spaces + CRLF (spec 2.1).
    static let v1MaxLength = 107

    /// Reads a header from the start of `bytes` (which is not consumed).
    static func parse(_ bytes: ByteBuffer) -> Parse {
        let view = bytes.readableBytesView
        // Decided at the first byte that differs from both signatures: an
        // HTTP request or TLS hello passes after one or a few bytes.
        if zip(view, v1Prefix).allSatisfy({ $0 == $1 }) { return view.count < v1Prefix.count ? .needMoreData : parseV1(view) }
        if zip(view, v2Signature).allSatisfy({ $0 == $1 }) { return view.count < 16 ? .needMoreData : parseV2(bytes) }
        return .absent
    }

    private static func parseV1(_ view: ByteBufferView) -> Parse {
        let line = Array(view.prefix(v1MaxLength))
        guard let cr = line.firstIndex(of: 0x0D), cr + 1 < line.count else {
            return line.count >= v1MaxLength ? .invalid("a PROXY v1 line longer than \(v1MaxLength) bytes") : .needMoreData
        }
        guard line[cr + 1] == 0x0A else { return .invalid("a PROXY v1 line with CR not followed by LF") }
        guard line[..<cr].allSatisfy({ (0x20...0x7E).contains($0) }) else {
            return .invalid("a PROXY v1 line with bytes that are not printable ASCII")
        }
        let text = String(decoding: line[..<cr], as: UTF8.self)
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        let length = cr + 2
        guard fields.count >= 2 else { return .invalid("a PROXY v1 line without a protocol") }
        switch fields[1] {
        case "UNKNOWN":
            // The rest of the line may be anything and is ignored (spec 2.1).
            return .header(ProxyProtocolHeader(version: 1), length: length)
        case "TCP4", "TCP6":
            let six = fields[1] == "TCP6"
            guard fields.count == 6 else { return .invalid("a PROXY v1 \(fields[1]) line needs 2 addresses and 2 ports, found \(fields.count - 2) fields") }
            guard let source = IPAddress(fields[2]), let destination = IPAddress(fields[3]),
                  fields[2].contains(":") == six, fields[3].contains(":") == six else {
                return .invalid("a PROXY v1 \(fields[1]) line with an address that is not \(six ? "IPv6" : "IPv4")")
            }
            guard let sourcePort = port(fields[4]), let destinationPort = port(fields[5]) else {
                return .invalid("a PROXY v1 line with a port that is not a number from 0 to 65535")
            }
            return .header(ProxyProtocolHeader(version: 1, source: source, sourcePort: sourcePort,
                                               destination: destination, destinationPort: destinationPort), length: length)
        default:
            return .invalid("a PROXY v1 line with unknown protocol \(fields[1].prefix(16))")
        }
    }

    private static func port(_ text: Substring) -> Int? {
        guard (1...5).contains(text.count), text.allSatisfy({ ("0"..."9").contains($0) }), let value = Int(text), value <= 65535 else { return nil }
        return value
    }

    private static func parseV2(_ bytes: ByteBuffer) -> Parse {
        let start = bytes.readerIndex
        guard let versionCommand = bytes.getInteger(at: start + 12, as: UInt8.self),
              let familyProtocol = bytes.getInteger(at: start + 13, as: UInt8.self),
              let addressLength = bytes.getInteger(at: start + 14, as: UInt16.self) else { return .needMoreData }
        guard versionCommand >> 4 == 2 else { return .invalid("a PROXY v2 header with version \(versionCommand >> 4)") }
        let local: Bool
        switch versionCommand & 0x0F {
        case 0: local = true
        case 1: local = false
        default: return .invalid("a PROXY v2 header with unknown command \(versionCommand & 0x0F)")
        }
        guard familyProtocol & 0x0F <= 2, familyProtocol >> 4 <= 3 else {
            return .invalid("a PROXY v2 header with unknown address family or protocol 0x\(String(familyProtocol, radix: 16))")
        }
        let length = 16 + Int(addressLength)
        guard bytes.readableBytes >= length else { return .needMoreData }
        // A LOCAL header's addresses, if any, are to be ignored (spec 2.2).
        guard !local else { return .header(ProxyProtocolHeader(version: 2), length: length) }
        let size: Int
        switch familyProtocol >> 4 {
        case 1: size = 4
        case 2: size = 16
        default: return .header(ProxyProtocolHeader(version: 2), length: length)   // UNSPEC or UNIX: no IP address
        }
        guard Int(addressLength) >= 2 * size + 4 else {
            return .invalid("a PROXY v2 header too short for its addresses (\(addressLength) bytes)")
        }
        let at = start + 16
        guard let source = bytes.getBytes(at: at, length: size).flatMap(IPAddress.init(bytes:)),
              let destination = bytes.getBytes(at: at + size, length: size).flatMap(IPAddress.init(bytes:)),
              let sourcePort = bytes.getInteger(at: at + 2 * size, as: UInt16.self),
              let destinationPort = bytes.getInteger(at: at + 2 * size + 2, as: UInt16.self) else { return .needMoreData }
        return .header(ProxyProtocolHeader(version: 2, source: source, sourcePort: Int(sourcePort),
                                           destination: destination, destinationPort: Int(destinationPort)), length: length)
    }
}
