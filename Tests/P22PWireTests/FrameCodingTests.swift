import NIOCore
import P22PWire
import XCTest

final class FrameCodingTests: XCTestCase {
    private func roundTrip(_ frame: Frame, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try Frame.decode(frame.encoded()), frame, file: file, line: line)
    }

    func testControlMessagesRoundTrip() throws {
        let derivation = KeyDerivation(salt: Array(0..<16), logN: 17, blockSize: 8, parallelism: 1)
        let request = AuthRequest(group: "#club 1", name: "laptop", memberKey: Array(repeating: 5, count: 32), derivation: derivation,
                                  authPublicKey: Array(repeating: 7, count: 32), signature: Array(repeating: 9, count: 64),
                                  memberSignature: Array(repeating: 8, count: 64), reservation: Array("{}".utf8))
        try roundTrip(.control(.hello(version: 2, challenge: Array(0..<32), maxFrameSize: 66560, derivation: derivation)))
        try roundTrip(.control(.hello(version: 2, challenge: Array(0..<32), maxFrameSize: 66560, derivation: nil)))
        try roundTrip(.control(.welcome(cid: CID(65535), name: "a-b_c.d", created: true)))
        try roundTrip(.control(.memberJoined(cid: CID(2), name: "bob", existing: false)))
        try roundTrip(.control(.memberLeft(cid: CID(2), name: "bob", reason: "keepalive timeout")))
        try roundTrip(.control(.refused(.wrongPassword, message: "wrong password for group demo")))
        try roundTrip(.control(.undeliverable(cid: CID(9), reason: "")))
        try roundTrip(.control(.undeliverable(cid: CID(9), reason: "group #x is creator-only")))
        try roundTrip(.control(.reserve(group: "#club", creatorOnly: true, creatorKey: Array(repeating: 3, count: 32))))
        try roundTrip(.control(.extend(key: Array("{}".utf8))))
        try roundTrip(.control(.reservation(key: Array("{\"group\": \"#club\"}".utf8))))
        try roundTrip(.control(.create(request)))
        var join = request
        join.authPublicKey = nil
        join.derivation = nil
        join.reservation = []
        try roundTrip(.control(.join(join)))
        try roundTrip(.control(.leave))
    }

    func testRelayedFrameCIDIsReadWithoutDecoding() throws {
        var payload = ByteBuffer()
        payload.writeBytes([1, 2, 3, 4])
        let frame = Frame.relayed(cid: CID(5), payload: payload).encoded()
        XCTAssertEqual(Frame.relayedCID(in: frame), CID(5))
    }

    func testTruncatedAndTrailingBytesAreRejected() throws {
        let full = Frame.control(.welcome(cid: CID(3), name: "carol", created: false)).encoded()
        for length in 0..<full.readableBytes {
            XCTAssertThrowsError(try Frame.decode(full.getSlice(at: 0, length: length)!), "prefix of \(length) bytes")
        }
        var longer = full
        longer.writeInteger(UInt8(0))
        XCTAssertThrowsError(try Frame.decode(longer)) { error in
            XCTAssertEqual(error as? WireError, .trailingBytes(context: "control message", count: 1))
        }
        XCTAssertThrowsError(try Frame.decode(ByteBuffer(bytes: [0x33]))) { error in
            XCTAssertEqual(error as? WireError, .unknownKind(0x33, context: "frame"))
        }
    }

    func testOverlongLengthFieldsAreRejectedBeforeReading() {
        // A member name claiming 200 bytes, more than the 64 allowed.
        var buffer = ByteBuffer(bytes: [0x02, 0, 1, 200])
        buffer.writeBytes(Array(repeating: UInt8(ascii: "a"), count: 200))
        buffer.writeInteger(UInt8(0))
        XCTAssertThrowsError(try Frame.decode(buffer)) { error in
            XCTAssertEqual(error as? WireError, .fieldTooLong(field: "welcome name", length: 200, limit: 64))
        }
    }

    /// Found by the fuzzer: a name that is not UTF-8 must be refused, not
    /// repaired into something else than what was sent.
    func testInvalidUTF8IsRejected() {
        var buffer = ByteBuffer(bytes: [0x02, 0x13, 0x00, 4, 0x41, 0xFF, 0xFE, 0x42, 0])
        XCTAssertThrowsError(try Frame.decode(buffer)) { error in
            XCTAssertEqual(error as? WireError, .invalidUTF8(field: "welcome name"))
        }
        buffer = ByteBuffer(bytes: [0x05, 0, 3, 0, 2, 0xC3, 0x28])
        XCTAssertThrowsError(try Frame.decode(buffer))
    }

    func testLongMessagesAreClippedOnCharacterBoundaries() throws {
        let long = String(repeating: "é", count: 400)   // 800 bytes
        let decoded = try Frame.decode(Frame.control(.refused(.other, message: long)).encoded())
        guard case .control(.refused(_, let message)) = decoded else { return XCTFail() }
        XCTAssertEqual(message.utf8.count, 512)
        XCTAssertTrue(long.hasPrefix(message))
    }

    func testStreamMessagesRoundTrip() throws {
        var data = ByteBuffer()
        data.writeBytes(Array(repeating: 0xAB, count: 1000))
        let messages: [StreamMessage] = [
            .open(host: "db.local", port: 5432, window: 1 << 20), .openAccepted(window: 65536),
            .openRefused(reason: "127.0.0.1:22 is not allowed"), .data(data), .window(increment: 4096),
            .finish(sentBytes: 123_456), .reset(reason: "gone"), .ping(token: 42), .pong(token: 42),
            .finishAcknowledged, .resume([], last: true),
            .open(host: "db.local", port: 5432, window: 1 << 20, compress: true), .openAccepted(window: 65536, compress: true),
            .compressedData(data), .datagramOpen(host: "127.0.0.1", port: 27015), .datagram(data), .datagram(ByteBuffer()),
            .resume((1...StreamResume.maxPerMessage).map {
                StreamResume(stream: UInt32($0), received: UInt64($0) << 33, granted: UInt64($0), credit: UInt32($0) << 10,
                             isOpen: $0 % 2 == 0, finishReceived: $0 % 3 == 0)
            }, last: false),
        ]
        for message in messages {
            var body = ByteBuffer()
            message.encodeBody(into: &body)
            XCTAssertEqual(try StreamMessage.decode(kind: message.kind, body: body), message)
        }
        var oversized = ByteBuffer()
        oversized.writeBytes(Array(repeating: 0, count: Limits.maxDataChunk + 1))
        XCTAssertThrowsError(try StreamMessage.decode(kind: .data, body: oversized))
        XCTAssertThrowsError(try StreamMessage.decode(kind: .datagram, body: oversized), "a datagram is bounded like a data chunk")
        // A resume list is whole entries, at most 100 per message.
        var ragged = ByteBuffer()
        StreamMessage.resume([StreamResume(stream: 1, received: 0, granted: 0, credit: 0, isOpen: true, finishReceived: false)], last: true)
            .encodeBody(into: &ragged)
        XCTAssertThrowsError(try StreamMessage.decode(kind: .resume, body: ragged.getSlice(at: 0, length: ragged.readableBytes - 1)!))
        var long = ByteBuffer()
        StreamMessage.resume(Array(repeating: StreamResume(stream: 1, received: 0, granted: 0, credit: 0, isOpen: true, finishReceived: false),
                                   count: StreamResume.maxPerMessage + 1), last: true).encodeBody(into: &long)
        XCTAssertThrowsError(try StreamMessage.decode(kind: .resume, body: long))
    }

    func testPeerFramesRoundTrip() throws {
        let initFrame = PeerFrame.handshakeInit(HandshakeMessage(
            ephemeralKey: Array(repeating: 1, count: 32), staticKey: Array(repeating: 3, count: 32), name: "laptop",
            signature: Array(repeating: 4, count: 64), mac: Array(repeating: 2, count: 32)))
        var buffer = ByteBuffer()
        initFrame.encode(into: &buffer)
        XCTAssertEqual(try PeerFrame.decode(buffer), initFrame)
        XCTAssertThrowsError(try PeerFrame.decode(buffer.getSlice(at: 0, length: 40)!))
        // A resumption offer is 16 bytes after the MAC, or nothing.
        let resuming = PeerFrame.handshakeInit(HandshakeMessage(
            ephemeralKey: Array(repeating: 1, count: 32), staticKey: Array(repeating: 3, count: 32), name: "laptop",
            signature: Array(repeating: 4, count: 64), mac: Array(repeating: 2, count: 32), resume: Array(repeating: 9, count: 16)))
        var offer = ByteBuffer()
        resuming.encode(into: &offer)
        XCTAssertEqual(offer.readableBytes, buffer.readableBytes + 16)
        XCTAssertEqual(try PeerFrame.decode(offer), resuming)
        XCTAssertThrowsError(try PeerFrame.decode(offer.getSlice(at: 0, length: offer.readableBytes - 1)!))
    }

    func testMemberNames() {
        for good in ["laptop", "home-pc", "a.b_c", "x1"] { XCTAssertNoThrow(try Names.validateMember(good), good) }
        for bad in ["", "has space", "a:b", "12345", String(repeating: "a", count: 65), "é"] {
            XCTAssertThrowsError(try Names.validateMember(bad), bad)
        }
        XCTAssertNoThrow(try Names.validateGroup("#club with spaces"))
        XCTAssertThrowsError(try Names.validateGroup("bad\u{7}bell"))
    }
}
