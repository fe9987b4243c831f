@testable import P22PClient
import XCTest

/// Proxy URLs, and which proxy the environment picks, as curl does.
final class ProxyURLTests: XCTestCase {
    func testProxyURLsParseWithCredentialsAndDefaults() throws {
        XCTAssertEqual(try ProxyURL(parsing: "http://10.0.0.1:3128"), ProxyURL(kind: .http, host: "10.0.0.1", port: 3128))
        XCTAssertEqual(try ProxyURL(parsing: "proxy.example.net"), ProxyURL(kind: .http, host: "proxy.example.net", port: 1080))
        XCTAssertEqual(try ProxyURL(parsing: "socks5://al%40ice:p%3Ass@[::1]:1081/"),
                       ProxyURL(kind: .socks5, host: "::1", port: 1081, username: "al@ice", password: "p:ss"))
        XCTAssertEqual(try ProxyURL(parsing: "socks5h://h:1").kind, .socks5)
        XCTAssertEqual(try ProxyURL(parsing: "http://user:secret@h:8080").description, "http://user@h:8080", "no password in messages")
        XCTAssertThrowsError(try ProxyURL(parsing: "ftp://h:21"))
        XCTAssertThrowsError(try ProxyURL(parsing: "http://h:0"))
        XCTAssertThrowsError(try ProxyURL(parsing: "http://"))
        XCTAssertEqual(try ProxySetting(parsing: "none"), .direct)
    }

    func testEnvironmentIsReadAsCurlReadsIt() throws {
        let wss = try ServerURL(parsing: "wss://relay.example.net")
        let ws = try ServerURL(parsing: "ws://relay.example.net")
        func pick(_ server: ServerURL, _ environment: [String: String]) throws -> String? {
            try ProxySetting.fromEnvironment.proxy(for: server, environment: environment)?.description
        }
        XCTAssertEqual(try pick(wss, ["https_proxy": "http://a:1", "http_proxy": "http://b:2"]), "http://a:1")
        XCTAssertEqual(try pick(wss, ["HTTPS_PROXY": "http://a:1"]), "http://a:1")
        XCTAssertEqual(try pick(ws, ["https_proxy": "http://a:1", "http_proxy": "http://b:2"]), "http://b:2")
        XCTAssertNil(try pick(ws, ["HTTP_PROXY": "http://b:2"]), "upper-case HTTP_PROXY is not trusted")
        XCTAssertEqual(try pick(ws, ["ALL_PROXY": "socks5://c:3"]), "socks5://c:3")
        XCTAssertEqual(try pick(wss, ["all_proxy": "socks5://c:3", "https_proxy": ""]), "socks5://c:3")
        XCTAssertNil(try pick(wss, ["https_proxy": "http://a:1", "no_proxy": "other.org, .example.net"]))
        XCTAssertNil(try pick(wss, ["https_proxy": "http://a:1", "NO_PROXY": "relay.example.net"]))
        XCTAssertNil(try pick(wss, ["https_proxy": "http://a:1", "no_proxy": "*"]))
        XCTAssertEqual(try pick(wss, ["https_proxy": "http://a:1", "no_proxy": "ample.net"]), "http://a:1", "a suffix matches whole labels only")
        XCTAssertNil(try ProxySetting.direct.proxy(for: wss, environment: ["https_proxy": "http://a:1"]))
        XCTAssertThrowsError(try pick(wss, ["https_proxy": "gopher://x"])) { error in
            XCTAssertTrue("\(error)".contains("https_proxy"), "\(error)")
        }
    }
}
