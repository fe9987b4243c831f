import Crypto
import Foundation
import NIOConcurrencyHelpers
import P22PClient
import XCTest

/// `compress: true` forwards: bytes arrive exactly as sent, text crosses
/// the relay several times smaller, and data that does not compress goes as
/// it is.
final class CompressionTests: XCTestCase {
    /// Echoes `payload` through a forward that compresses (or not), checks
    /// that it came back byte-exact, and returns what crossed the relay for
    /// it, both ways.
    private func relayedBytes(for payload: [UInt8], compress: Bool) async throws -> Int {
        let target = try TCPTestServer.echo()
        defer { target.stop() }
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        _ = try await cluster.member("host", mode: .create, allow: ["\(target.port)"])
        let guest = try await cluster.member("guest")
        let spec = ForwardSpec(peer: .name("host"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                               target: TargetAddress(host: "127.0.0.1", port: target.port), compress: compress)
        let port = try await cluster.addForward(on: guest, spec).get()

        let before = cluster.relay.stats.relayedBytes
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        let (count, digest) = try connection.sendAndReceiveAllHashed(payload)
        XCTAssertEqual(count, payload.count)
        XCTAssertEqual(digest, SHA256.hash(data: payload), "byte-exact")
        return cluster.relay.stats.relayedBytes - before
    }

    /// Log lines: timestamps, levels, repeated words, varying numbers.
    static func logText(_ size: Int) -> [UInt8] {
        var text = ""
        var index = 0
        let levels = ["INFO", "DEBUG", "WARN", "ERROR"]
        while text.utf8.count < size {
            text += "2026-11-30T17:\(String(format: "%02d:%02d", index / 60 % 60, index % 60)).\(index % 1000) \(levels[index % 4]) "
            text += "request \(index * 7919 % 100_000) from 10.0.\(index % 256).\(index * 13 % 256) took \(index % 977) ms status=\(index % 3 == 0 ? 200 : 404)\n"
            index += 1
        }
        return Array(text.utf8.prefix(size))
    }

    func testTextCrossesTheRelayAtLeastThreeTimesSmallerAndArrivesIntact() async throws {
        let payload = Self.logText(4 << 20)
        let relayed = try await relayedBytes(for: payload, compress: true)
        let ratio = Double(2 * payload.count) / Double(relayed)
        print("log-like text: \(2 * payload.count) bytes through the forward, \(relayed) across the relay (\(String(format: "%.1f", ratio))x)")
        XCTAssertGreaterThanOrEqual(ratio, 3)
    }

    func testRandomDataGoesAsItIsAndArrivesIntact() async throws {
        let payload = randomBytes(4 << 20)
        let relayed = try await relayedBytes(for: payload, compress: true)
        let overhead = Double(relayed) / Double(2 * payload.count)
        print("random data: \(relayed) bytes across the relay for \(2 * payload.count) (\(String(format: "%.3f", overhead))x)")
        XCTAssertLessThan(overhead, 1.01, "incompressible chunks are not inflated by compression")
    }

    func testUncompressedForwardIsUnchanged() async throws {
        let payload = Self.logText(1 << 20)
        let relayed = try await relayedBytes(for: payload, compress: false)
        XCTAssertGreaterThan(relayed, 2 * payload.count, "without compress, text crosses as it is")
    }
}
