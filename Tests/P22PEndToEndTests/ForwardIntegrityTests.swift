import Crypto
import Foundation
import P22PClient
import XCTest

/// Bytes through a forward arrive exactly as sent, in bulk and across many
/// concurrent streams.
final class ForwardIntegrityTests: XCTestCase {
    func testSixtyFourMebibytesEachWayArriveIntact() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let (cluster, port) = try await Cluster.forwarding(to: echo.port)
        defer { Task { await cluster.shutdown() } }

        let total = 64 << 20
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        // Send from another thread while this one reads the echo, so both
        // directions are busy at once and neither side's buffers can hide a stall.
        let sentDigest = LockedDigest()
        let sender = Thread {
            var hasher = SHA256()
            var remaining = total
            while remaining > 0 {
                let chunk = randomBytes(min(remaining, 1 << 20))
                hasher.update(data: chunk)
                do { try connection.send(chunk) } catch { break }
                remaining -= chunk.count
            }
            sentDigest.set(hasher.finalize())
            connection.shutdownWrite()
        }
        sender.start()
        let (received, receivedDigest) = try connection.receiveAllHashed()
        XCTAssertEqual(received, total)
        XCTAssertEqual(receivedDigest, sentDigest.get())
    }

    func testTwoHundredConcurrentStreamsOfRandomSizesArriveIntact() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let (cluster, port) = try await Cluster.forwarding(to: echo.port)
        defer { Task { await cluster.shutdown() } }

        // Sizes spread evenly on a log scale from 1 byte to 2 MiB.
        let sizes = (0..<200).map { index in index == 0 ? 1 : index == 1 ? 2 << 20 : Int(pow(2.0, Double.random(in: 0...21))) }
        let failures = await concurrentEchoes(port: port, sizes: sizes, timeoutSeconds: 240)
        XCTAssertEqual(failures, [])
    }
}

final class LockedDigest: @unchecked Sendable {  // `digest` is under `lock`
    private let lock = NSLock()
    private var digest: SHA256.Digest?
    func set(_ value: SHA256.Digest) { lock.withLock { digest = value } }
    func get() -> SHA256.Digest? { lock.withLock { digest } }
}

