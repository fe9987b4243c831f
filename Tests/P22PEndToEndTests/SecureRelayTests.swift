import Crypto
import Foundation
import NIOSSL
import Logging
@testable import P22PClient
import XCTest

/// wss:// through a TLS-terminating proxy in front of the relay, with the
/// certificate checked (here against a CA made for the test).
final class SecureRelayTests: XCTestCase {
    func testMembersForwardThroughATLSTerminatingProxy() async throws {
        let certificates = try TestCertificates()
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        let proxy = try TLSTerminator(certificate: certificates.certificateFile, key: certificates.keyFile,
                                      backendPort: cluster.relay.localAddress.port!, group: cluster.loops)
        defer { proxy.stop() }
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }

        let secure = ServerURL(secure: true, host: "127.0.0.1", port: proxy.port, pathPrefix: "")
        func connect(_ name: String, _ mode: MemberConfiguration.JoinMode, caFile: String?, allow: [String] = [],
                     pin: [UInt8]? = nil) async throws -> Member {
            try await cluster.member(name, mode: mode, allow: allow, server: secure, tls: TLSOptions(caFile: caFile, pinSHA256: pin))
        }
        let host = try await connect("host", .create, caFile: certificates.caFile, allow: ["\(echo.port)"])
        let guest = try await connect("guest", .join, caFile: certificates.caFile)
        let port = try await cluster.addForward(on: guest, ForwardSpec(peer: .name("host"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                                                          target: TargetAddress(host: "127.0.0.1", port: echo.port))).get()
        let message = randomBytes(200_000)
        XCTAssertEqual(try roundTrip(port: port, message: message), message)

        // Without the test CA the system trust store rejects the certificate: a clear error, no fallback.
        do {
            _ = try await connect("stranger", .join, caFile: nil)
            XCTFail("an untrusted certificate was accepted")
        } catch let error as MemberError {
            XCTAssertTrue(error.isConnectFailure)
            XCTAssertTrue(error.description.contains("the relay's certificate is not trusted"), "\(error)")
        }
        // Pinning: the right pin connects, a wrong one is refused before anything is sent.
        let der = try NIOSSLCertificate.fromPEMFile(certificates.certificateFile)[0].toDERBytes()
        let pinned = try await connect("pinned", .join, caFile: certificates.caFile, pin: Array(SHA256.hash(data: der)))
        _ = try await pinned.leave().get()
        do {
            _ = try await connect("mispinned", .join, caFile: certificates.caFile, pin: Array(repeating: 0, count: 32))
            XCTFail("a certificate that does not match the pin was accepted")
        } catch let error as MemberError {
            XCTAssertTrue(error.description.contains("does not match the pinned one"), "\(error)")
        }
        _ = try await guest.leave().get()
        _ = try await host.leave().get()
    }
}
