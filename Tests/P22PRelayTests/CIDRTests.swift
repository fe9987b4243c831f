@testable import P22PRelay
import XCTest

/// Addresses and blocks for `--trusted-proxy`, and whom X-Forwarded-For names.
final class CIDRTests: XCTestCase {
    func testAddresses() {
        XCTAssertEqual(IPAddress("192.0.2.1")?.bytes, [192, 0, 2, 1])
        XCTAssertEqual(IPAddress("2001:DB8:0:0::1")?.description, "2001:db8::1")
        XCTAssertEqual(IPAddress("::ffff:192.0.2.1"), IPAddress("192.0.2.1"), "an IPv4-mapped address is the IPv4 address")
        XCTAssertEqual(IPAddress("::ffff:192.0.2.1")?.description, "192.0.2.1")
        XCTAssertEqual(IPAddress("::1")?.isIPv4, false)
        for bad in ["", "192.0.2", "192.0.2.256", "192.0.2.1.5", "01.2.3.4x", "host.example", "2001:db8:::1", "[::1]", "fe80::1%eth0",
                    String(repeating: "1", count: 100)] {
            XCTAssertNil(IPAddress(bad), bad)
        }
    }

    func testBlocks() throws {
        let ten = try XCTUnwrap(CIDR("10.0.0.0/8"))
        XCTAssertTrue(ten.contains(try XCTUnwrap(IPAddress("10.255.1.2"))))
        XCTAssertFalse(ten.contains(try XCTUnwrap(IPAddress("11.0.0.1"))))
        XCTAssertFalse(ten.contains(try XCTUnwrap(IPAddress("::a00:1"))), "IPv6 never matches an IPv4 block")

        let odd = try XCTUnwrap(CIDR("192.0.2.64/26"))
        XCTAssertTrue(odd.contains(try XCTUnwrap(IPAddress("192.0.2.127"))))
        XCTAssertFalse(odd.contains(try XCTUnwrap(IPAddress("192.0.2.128"))))
        XCTAssertFalse(odd.contains(try XCTUnwrap(IPAddress("192.0.2.63"))))

        let one = try XCTUnwrap(CIDR("127.0.0.1"))
        XCTAssertEqual(one.prefixLength, 32)
        XCTAssertTrue(one.contains(try XCTUnwrap(IPAddress("127.0.0.1"))))
        XCTAssertTrue(one.contains(try XCTUnwrap(IPAddress("::ffff:127.0.0.1"))), "what a dual-stack socket reports")
        XCTAssertFalse(one.contains(try XCTUnwrap(IPAddress("127.0.0.2"))))

        let six = try XCTUnwrap(CIDR("2001:db8:abc0::/42"))
        XCTAssertTrue(six.contains(try XCTUnwrap(IPAddress("2001:db8:abff:ffff::1"))))
        XCTAssertFalse(six.contains(try XCTUnwrap(IPAddress("2001:db8:ac00::1"))))
        XCTAssertTrue(try XCTUnwrap(CIDR("::/0")).contains(try XCTUnwrap(IPAddress("2001:db8::1"))))
        XCTAssertTrue(try XCTUnwrap(CIDR("0.0.0.0/0")).contains(try XCTUnwrap(IPAddress("203.0.113.7"))))
        XCTAssertEqual(CIDR("::ffff:10.0.0.0/104"), CIDR("10.0.0.0/8"), "a mapped block is the IPv4 block")
        XCTAssertEqual(CIDR("2001:db8::/32")?.description, "2001:db8::/32")

        for bad in ["10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08x", "::/129", "2001:db8::1/32",
                    "/8", "10.0.0.0/8/8", "example.net/24"] {
            XCTAssertNil(CIDR(bad), bad)
        }
        if case .success = TrustedProxies.parse(["10.0.0.0/8", "nonsense"]) { XCTFail("nonsense is not a block") }
        if case .failure(let error) = TrustedProxies.parse(["10.0.0.0/8", "10.1.2.3/8"]) {
            XCTAssertTrue(error.description.hasPrefix("10.1.2.3/8 is not an IP address or CIDR block"), error.description)
        } else {
            XCTFail("host bits set")
        }
    }

    func testForwardedForNamesTheRightMostUntrustedAddress() throws {
        guard case .success(let proxies) = TrustedProxies.parse(["10.0.0.0/8", "2001:db8:1::/48"]) else { return XCTFail() }
        let proxy = try XCTUnwrap(IPAddress("10.0.0.5"))
        let client = { (values: [String]) in proxies.client(peer: proxy, forwardedFor: values).description }
        XCTAssertEqual(client([]), "10.0.0.5", "no header: the proxy itself")
        XCTAssertEqual(client(["203.0.113.7"]), "203.0.113.7")
        XCTAssertEqual(client(["198.51.100.1, 203.0.113.7"]), "203.0.113.7", "what the client wrote itself is not believed")
        XCTAssertEqual(client(["198.51.100.1, 203.0.113.7, 10.1.1.1"]), "203.0.113.7", "a chain of trusted proxies is walked")
        XCTAssertEqual(client(["198.51.100.1", "203.0.113.7 , 10.1.1.1"]), "203.0.113.7", "several headers are one list")
        XCTAssertEqual(client(["[2001:db8:2::9]:4711, 2001:db8:1::1"]), "2001:db8:2::9")
        XCTAssertEqual(client(["203.0.113.7:4711"]), "203.0.113.7")
        XCTAssertEqual(client(["10.9.9.9, 10.1.1.1"]), "10.9.9.9", "all trusted: the left-most")
        XCTAssertEqual(client(["203.0.113.7, unknown"]), "10.0.0.5", "garbage from a trusted proxy stops at that proxy")
        XCTAssertEqual(client(["unknown, 203.0.113.7"]), "203.0.113.7")
        XCTAssertEqual(proxies.client(peer: try XCTUnwrap(IPAddress("192.0.2.1")), forwardedFor: ["203.0.113.7"]).description, "192.0.2.1",
                       "an untrusted peer's header is ignored")
    }
}
