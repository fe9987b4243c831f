#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import P22PTransport
import XCTest

/// Socket failures become sentences about the address the user gave.
final class SocketErrorTextTests: XCTestCase {
    func testConnectFailuresNameThePlaceAndTheCause() {
        XCTAssertEqual(describeConnectFailure(to: "127.0.0.1:8001", IOError(errnoCode: ECONNREFUSED, reason: "connect")),
                       "nothing listens on 127.0.0.1:8001")
        XCTAssertEqual(describeConnectFailure(to: "relay.example.net:443", ChannelError.connectTimeout(.seconds(10))),
                       "connection to relay.example.net:443 timed out after 10 s")
        XCTAssertEqual(describeConnectFailure(to: "[::1]:22", IOError(errnoCode: ENETUNREACH, reason: "connect")),
                       "[::1]:22 cannot be reached from here (no route)")
        // Anything else still names the place, with the system's own words.
        XCTAssertEqual(describeConnectFailure(to: "127.0.0.1:1", IOError(errnoCode: EACCES, reason: "connect")),
                       "127.0.0.1:1: permission denied")
    }

    /// What NIO's resolver throws for a name that does not exist (.invalid
    /// never resolves, RFC 6761), as a forward's target name would.
    func testANameThatDoesNotResolveIsSaidSo() {
        XCTAssertThrowsError(try SocketAddress.makeAddressResolvingHost("no-such-host.invalid", port: 5432)) { error in
            XCTAssertEqual(describeConnectFailure(to: "no-such-host.invalid:5432", error),
                           "the name no-such-host.invalid does not resolve to an address (check its spelling and this machine's DNS)")
        }
    }

    func testAddressesAreWrittenAsPeopleWriteThem() {
        XCTAssertEqual(readableAddress(host: "relay.example.net", port: 443), "relay.example.net:443")
        XCTAssertEqual(readableAddress(host: "::1", port: 8001), "[::1]:8001")
        XCTAssertEqual(try SocketAddress(ipAddress: "127.0.0.1", port: 8001).readable, "127.0.0.1:8001")
        XCTAssertEqual(try SocketAddress(ipAddress: "::1", port: 8001).readable, "[::1]:8001")
    }
}
