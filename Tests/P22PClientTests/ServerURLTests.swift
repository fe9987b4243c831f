@testable import P22PClient
import XCTest

/// Relay URLs as users type them, for each transport.
final class ServerURLTests: XCTestCase {
    func testEachSchemeParsesAndPrintsBack() throws {
        let cases: [(text: String, transport: ServerURL.Transport, secure: Bool, port: Int, printed: String)] = [
            ("ws://relay.example.net", .webSocket, false, 39453, "ws://relay.example.net:39453"),
            ("wss://relay.example.net/p22p/", .webSocket, true, 443, "wss://relay.example.net:443/p22p"),
            ("tcp://10.0.0.1:39454", .stream, false, 39454, "tcp://10.0.0.1:39454"),
            ("tls://[::1]:8443", .stream, true, 8443, "tls://[::1]:8443"),
        ]
        for (text, transport, secure, port, printed) in cases {
            let url = try ServerURL(parsing: text)
            XCTAssertEqual(url.transport, transport, text)
            XCTAssertEqual(url.secure, secure, text)
            XCTAssertEqual(url.port, port, text)
            XCTAssertEqual(url.description, printed)
            XCTAssertEqual(try ServerURL(parsing: url.description), url, "round trip of \(text)")
        }
    }

    /// A stream relay has no default port and no path; the error shows the form.
    func testStreamURLsNeedAPortAndNoPath() {
        for text in ["tcp://relay.example.net", "tls://relay.example.net:443/p22p"] {
            XCTAssertThrowsError(try ServerURL(parsing: text), text) { error in
                XCTAssertTrue("\(error)".contains("HOST:PORT (the relay's --listen-tcp port)"), "\(error)")
            }
        }
        for text in ["udp://relay:1", "relay:39453"] {
            XCTAssertThrowsError(try ServerURL(parsing: text), text) { error in
                XCTAssertTrue("\(error)".contains("ws://HOST[:PORT], wss://HOST[:PORT], tcp://HOST:PORT or tls://HOST:PORT"), "\(error)")
            }
        }
    }
}
