import NIOCore
@testable import P22PRelay
import XCTest

/// PROXY protocol v1 and v2 headers (HAProxy's proxy-protocol.txt), as the
/// first bytes of a connection.
final class ProxyProtocolHeaderTests: XCTestCase {
    private func parse(_ bytes: [UInt8]) -> ProxyProtocolHeader.Parse {
        ProxyProtocolHeader.parse(ByteBuffer(bytes: bytes))
    }

    private func parse(_ text: String) -> ProxyProtocolHeader.Parse { parse(Array(text.utf8)) }

    private func address(_ text: String) -> IPAddress { IPAddress(text)! }

    /// A v2 header: signature, version 2 and `command`, `family`, the length, then `body`.
    private func v2(command: UInt8 = 1, family: UInt8, body: [UInt8]) -> [UInt8] {
        ProxyProtocolHeader.v2Signature + [0x20 | command, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    func testVersionOneTCP4AndTCP6() {
        let line = "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n"
        XCTAssertEqual(parse(line + "GET / HTTP/1.1\r\n"),
                       .header(ProxyProtocolHeader(version: 1, source: address("203.0.113.7"), sourcePort: 56324,
                                                   destination: address("192.0.2.1"), destinationPort: 443), length: line.utf8.count))
        let six = "PROXY TCP6 2001:db8::7 2001:db8::1 65535 0\r\n"
        XCTAssertEqual(parse(six),
                       .header(ProxyProtocolHeader(version: 1, source: address("2001:db8::7"), sourcePort: 65535,
                                                   destination: address("2001:db8::1"), destinationPort: 0), length: six.utf8.count))
        // The longest lines the spec allows are accepted.
        let ffff = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        for longest in ["PROXY TCP6 \(ffff) \(ffff) 65535 65535\r\n", "PROXY UNKNOWN \(ffff) \(ffff) 65535 65535\r\n"] {
            guard case .header(_, let length) = parse(longest) else { return XCTFail("\(parse(longest))") }
            XCTAssertEqual(length, longest.utf8.count)
        }
        XCTAssertEqual("PROXY UNKNOWN \(ffff) \(ffff) 65535 65535\r\n".utf8.count, ProxyProtocolHeader.v1MaxLength)
    }

    func testVersionOneUnknown() {
        XCTAssertEqual(parse("PROXY UNKNOWN\r\n"), .header(ProxyProtocolHeader(version: 1), length: 15))
        XCTAssertEqual(parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nrest"), .header(ProxyProtocolHeader(version: 1), length: 35),
                       "whatever follows UNKNOWN is ignored")
    }

    func testVersionOneMistakes() {
        let invalid: [String] = [
            "PROXY TCP4 203.0.113.7 192.0.2.1 56324\r\n",          // a port missing
            "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443 8\r\n",    // a field too many
            "PROXY TCP4 2001:db8::7 192.0.2.1 1 2\r\n",            // IPv6 in TCP4
            "PROXY TCP6 203.0.113.7 2001:db8::1 1 2\r\n",          // IPv4 in TCP6
            "PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n",      // port out of range
            "PROXY TCP4 203.0.113.7 192.0.2.1 -1 443\r\n",
            "PROXY TCP4 203.0.113.7  192.0.2.1 1 443\r\n",         // two spaces
            "PROXY TCP4 203.0.113.300 192.0.2.1 1 2\r\n",
            "PROXY UDP4 203.0.113.7 192.0.2.1 1 2\r\n",
            "PROXY \r\n",
            "PROXY TCP4 203.0.113.7 192.0.2.1 1 2\rX",             // CR without LF
            "PROXY TCP4 203.0.113.7\u{0}192.0.2.1 1 2\r\n",
            "PROXY " + String(repeating: "A", count: 200) + "\r\n", // no end within 107 bytes
        ]
        for text in invalid {
            guard case .invalid = parse(text) else { return XCTFail("\(text.debugDescription): \(parse(text))") }
        }
    }

    func testVersionTwoProxyIPv4AndIPv6() {
        let four = v2(family: 0x11, body: [203, 0, 113, 7, 192, 0, 2, 1, 0xDC, 0x04, 0x01, 0xBB])
        XCTAssertEqual(parse(four + Array("GET".utf8)),
                       .header(ProxyProtocolHeader(version: 2, source: address("203.0.113.7"), sourcePort: 56324,
                                                   destination: address("192.0.2.1"), destinationPort: 443), length: 28))
        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [7]
        let destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        // With a TLV after the addresses (type 0x04 NOOP, 3 bytes), which is skipped.
        let six = v2(family: 0x21, body: source + destination + [0, 80, 1, 0xBB] + [0x04, 0, 3, 1, 2, 3])
        XCTAssertEqual(parse(six),
                       .header(ProxyProtocolHeader(version: 2, source: address("2001:db8::7"), sourcePort: 80,
                                                   destination: address("2001:db8::1"), destinationPort: 443), length: 16 + 36 + 6))
    }

    func testVersionTwoLocalAndOtherFamilies() {
        // LOCAL: the proxy's own connection (a health check); addresses, if any, are ignored.
        XCTAssertEqual(parse(v2(command: 0, family: 0x00, body: [])), .header(ProxyProtocolHeader(version: 2), length: 16))
        XCTAssertEqual(parse(v2(command: 0, family: 0x11, body: [203, 0, 113, 7, 192, 0, 2, 1, 0, 1, 0, 2])),
                       .header(ProxyProtocolHeader(version: 2), length: 28))
        XCTAssertEqual(parse(v2(command: 0, family: 0x21, body: Array(repeating: 9, count: 36))),
                       .header(ProxyProtocolHeader(version: 2), length: 52))
        // PROXY with UNSPEC or a UNIX socket: no IP address to use.
        XCTAssertEqual(parse(v2(family: 0x00, body: [])), .header(ProxyProtocolHeader(version: 2), length: 16))
        XCTAssertEqual(parse(v2(family: 0x31, body: Array(repeating: 0, count: 216))), .header(ProxyProtocolHeader(version: 2), length: 232))
    }

    func testVersionTwoMistakes() {
        var wrongVersion = v2(family: 0x11, body: Array(repeating: 1, count: 12))
        wrongVersion[12] = 0x11
        let cases: [[UInt8]] = [
            wrongVersion,
            v2(command: 2, family: 0x11, body: Array(repeating: 1, count: 12)),   // unknown command
            v2(family: 0x41, body: Array(repeating: 1, count: 12)),               // unknown family
            v2(family: 0x13, body: Array(repeating: 1, count: 12)),               // unknown transport
            v2(family: 0x11, body: Array(repeating: 1, count: 11)),               // too short for IPv4
            v2(family: 0x21, body: Array(repeating: 1, count: 12)),               // too short for IPv6
        ]
        for bytes in cases {
            guard case .invalid = parse(bytes) else { return XCTFail("\(bytes): \(parse(bytes))") }
        }
    }

    /// Every proper prefix of a header asks for more; other protocols are not
    /// held up: HTTP and TLS are told apart within the first bytes.
    func testTruncatedInputAndOtherProtocols() {
        let headers: [[UInt8]] = [
            Array("PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n".utf8),
            Array("PROXY UNKNOWN\r\n".utf8),
            v2(family: 0x11, body: [203, 0, 113, 7, 192, 0, 2, 1, 0xDC, 0x04, 0x01, 0xBB]),
            v2(family: 0x21, body: Array(repeating: 1, count: 36) + Array(repeating: 0, count: 300)),
        ]
        for header in headers {
            for length in 0..<header.count {
                XCTAssertEqual(parse(Array(header.prefix(length))), .needMoreData, "\(length) bytes of \(header.prefix(20))")
            }
            guard case .header = parse(header) else { return XCTFail("\(header)") }
        }
        XCTAssertEqual(parse("GET /v1/0123456789abcdef HTTP/1.1\r\n"), .absent)
        XCTAssertEqual(parse("G"), .absent)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\n"), .absent)
        XCTAssertEqual(parse("PRI * HTTP/2.0\r\n"), .absent)
        XCTAssertEqual(parse([0x16, 0x03, 0x01, 0x02, 0x00]), .absent, "a TLS ClientHello")
        XCTAssertEqual(parse([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0B]), .absent, "one byte off the v2 signature")
        XCTAssertEqual(parse("PROXY"), .needMoreData)
    }

    func testGarbageNeverCrashesAndIsBounded() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20_000 {
            var bytes = (0..<Int.random(in: 0...160, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Half the rounds start with a signature, so the parsers' insides get the garbage.
            if round % 4 == 1 { bytes = Array("PROXY TCP4 ".utf8) + bytes }
            if round % 4 == 2 { bytes = ProxyProtocolHeader.v2Signature + bytes }
            switch parse(bytes) {
            case .header(_, let length): XCTAssertLessThanOrEqual(length, bytes.count)
            case .needMoreData: XCTAssertLessThan(bytes.count, 16 + 65535 + 1)
            case .absent, .invalid: break
            }
        }
    }
}
