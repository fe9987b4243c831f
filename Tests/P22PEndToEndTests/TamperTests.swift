import Foundation
import NIOConcurrencyHelpers
import NIOCore
@testable import P22PClient
import P22PWire
import XCTest

/// A relay that flips bits or injects frames gets streams reset, never
/// corrupted bytes delivered.
final class TamperTests: XCTestCase {
    func testFlippedBitResetsOnlyThatStreamAndDeliversNoCorruptByte() async throws {
        let victimReceived = Recorder()
        let victimOutcome = Recorder()
        let target = try TCPTestServer { connection in
            guard let mode = try? connection.receive(exactly: 4) else { return }
            if mode == Array("VICT".utf8) {
                connection.record(into: victimReceived, outcome: victimOutcome)
            } else {
                connection.echoUntilEOF()
            }
        }
        defer { target.stop() }
        // The relay flips one ciphertext bit of the first large data frame on
        // the victim stream (the guest's first stream: id 1, as "guest" sorts
        // before "host").
        let tampered = NIOLockedValueBox(false)
        let cluster = try await Cluster { configuration in
            configuration.frameTap = { frame in
                let start = frame.readerIndex
                guard frame.getInteger(at: start, as: UInt8.self) == 0x03,
                      frame.getInteger(at: start + 1, as: UInt8.self) == StreamMessageKind.data.rawValue,
                      frame.getInteger(at: start + 2, as: UInt32.self) == 1,
                      frame.readableBytes > 1000,
                      tampered.withLockedValue({ done in defer { done = true }; return !done }) else { return true }
                let offset = start + SealedHeader.encodedSize + 10
                frame.setInteger(frame.getInteger(at: offset, as: UInt8.self)! ^ 0x01, at: offset)
                return true
            }
        }
        defer { Task { await cluster.shutdown() } }
        let (_, _, port) = try await cluster.pair(allow: ["\(target.port)"], target: target.port)

        let victim = try TCPConnection.connect(port: port)
        defer { victim.close() }
        try victim.send(Array("VICT".utf8) + Array(repeating: UInt8(ascii: "a"), count: 500))
        let survivor = try TCPConnection.connect(port: port)
        defer { survivor.close() }
        try survivor.send(Array("ECHO".utf8))
        let first = randomBytes(100_000)
        try survivor.send(first)
        XCTAssertEqual(try survivor.receive(exactly: first.count), first)

        for _ in 0..<100 where victimReceived.all.joined().count < 500 { try await Task.sleep(nanoseconds: 20_000_000) }
        try victim.send(Array(repeating: UInt8(ascii: "b"), count: 4000))

        // The host rejects the frame and resets the stream on both sides.
        let event = try await cluster.events.wait(for: "host") {
            if case .streamReset(_, _, let reason) = $0 { return reason.contains("authentication") }
            return false
        }
        XCTAssertNotNil(event)
        XCTAssertThrowsError(try victim.receive(), "the victim's client sees its stream end")
        for _ in 0..<100 where victimOutcome.all.isEmpty { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertEqual(victimOutcome.all, ["reset"])
        XCTAssertTrue(tampered.withLockedValue { $0 })
        // Not one byte of the tampered frame reached the target.
        XCTAssertEqual(victimReceived.all.joined(), String(repeating: "a", count: 500))

        // The other stream of the same pair goes on.
        let second = randomBytes(1 << 20)
        try survivor.send(second)
        XCTAssertEqual(try survivor.receive(exactly: second.count), second)
    }

    /// A relay that silently drops a frame cannot make a stream lose bytes
    /// unnoticed: the next frame of that stream fails to open and the stream
    /// is reset, with nothing after the gap delivered.
    func testDroppedFrameResetsItsStreamInsteadOfLeavingAGap() async throws {
        let received = Recorder()
        let outcome = Recorder()
        let target = try TCPTestServer { $0.record(into: received, outcome: outcome) }
        defer { target.stop() }
        let dataFrames = NIOLockedValueBox(0)
        let cluster = try await Cluster { configuration in
            configuration.frameTap = { frame in
                let start = frame.readerIndex
                guard frame.getInteger(at: start, as: UInt8.self) == 0x03,
                      frame.getInteger(at: start + 1, as: UInt8.self) == StreamMessageKind.data.rawValue else { return true }
                // Lose the second data frame from the guest.
                return dataFrames.withLockedValue { count in
                    count += 1
                    return count != 2
                }
            }
        }
        defer { Task { await cluster.shutdown() } }
        let (_, _, port) = try await cluster.pair(allow: ["\(target.port)"], target: target.port)
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        for letter in ["a", "b", "c"] {
            try connection.send(Array(letter.utf8))
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        for _ in 0..<100 where outcome.all.isEmpty { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertEqual(outcome.all, ["reset"])
        XCTAssertEqual(received.all.joined(), "a", "bytes after the lost frame must not be delivered")
    }

    /// A member of another group (or anyone the relay admits elsewhere) cannot
    /// reach into this group: routing is per group, and CIDs only mean
    /// something inside one.
    func testMemberOfAnotherGroupCannotInjectFrames() async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        let host = try await cluster.member("host", mode: .create)
        let outsider = try await cluster.member("outsider", mode: .create, group: "other")
        let before = cluster.relay.stats.relayedFrames
        // Aimed at the host's CID, with a well-formed handshake message.
        try await outsider.eventLoop.submit {
            outsider.sendRelayed(to: host.cid, capacity: 256) { buffer in
                PeerFrame.handshakeInit(HandshakeMessage(
                    ephemeralKey: Array(repeating: 1, count: 32), staticKey: Array(repeating: 3, count: 32), name: "outsider",
                    signature: Array(repeating: 4, count: 64), mac: Array(repeating: 2, count: 32))).encode(into: &buffer)
            }
        }.get()
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(cluster.relay.stats.relayedFrames, before, "the relay routed a frame across groups")
    }

    /// A forged handshake from inside the relay (no group key) is rejected.
    func testHandshakeWithoutGroupKeyIsRejected() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        let (host, guest, port) = try await cluster.pair(allow: ["\(echo.port)"], target: echo.port)
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("before".utf8))
        XCTAssertEqual(try connection.receive(exactly: 6), Array("before".utf8))
        // A forged init with a bad MAC must neither reset the open stream nor
        // establish anything.
        try await guest.eventLoop.submit {
            guest.sendRelayed(to: host.cid, capacity: 256) { buffer in
                PeerFrame.handshakeInit(HandshakeMessage(
                    ephemeralKey: Array(repeating: 9, count: 32), staticKey: Array(repeating: 3, count: 32), name: "guest",
                    signature: Array(repeating: 4, count: 64), mac: Array(repeating: 0, count: 32))).encode(into: &buffer)
            }
        }.get()
        try await Task.sleep(nanoseconds: 200_000_000)
        try connection.send(Array("after".utf8))
        XCTAssertEqual(try connection.receive(exactly: 5), Array("after".utf8))
    }

    /// The relay records the guest's handshake init and plays it to the host
    /// again later: it carries a valid MAC, but the host must not let it
    /// replace the live session (whose streams would then break for good).
    func testReplayedHandshakeDoesNotReplaceTheSession() async throws {
        let echo = try TCPTestServer.echo()
        defer { echo.stop() }
        let recorded = NIOLockedValueBox<[UInt8]?>(nil)
        let cluster = try await Cluster { configuration in
            configuration.frameTap = { frame in
                if frame.getInteger(at: frame.readerIndex, as: UInt8.self) == 0x01 {
                    recorded.withLockedValue { $0 = frame.getBytes(at: frame.readerIndex, length: frame.readableBytes) }
                }
                return true
            }
        }
        defer { Task { await cluster.shutdown() } }
        let (host, guest, port) = try await cluster.pair(allow: ["\(echo.port)"], target: echo.port)
        let connection = try TCPConnection.connect(port: port)
        defer { connection.close() }
        try connection.send(Array("before".utf8))
        XCTAssertEqual(try connection.receive(exactly: 6), Array("before".utf8))
        let initFrame = try XCTUnwrap(recorded.withLockedValue { $0 })
        try await guest.eventLoop.submit {
            guest.sendRelayed(to: host.cid, capacity: initFrame.count) { $0.writeBytes(initFrame) }
        }.get()
        try await Task.sleep(nanoseconds: 200_000_000)
        try connection.send(Array("after".utf8))
        XCTAssertEqual(try connection.receive(exactly: 5), Array("after".utf8))
    }
}
