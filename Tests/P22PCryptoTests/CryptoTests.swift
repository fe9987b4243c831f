import Crypto
import NIOCore
@testable import P22PCrypto
import P22PWire
import XCTest

final class CryptoTests: XCTestCase {
    /// One derivation shared by the tests: scrypt at full cost is slow in debug builds.
    static let secrets = try! GroupSecrets(password: "hunter2", group: "demo")

    func testKeysDependOnPasswordAndGroup() throws {
        let again = try GroupSecrets(password: "hunter2", group: "demo")
        XCTAssertEqual(again.authPublicKey, Self.secrets.authPublicKey)
        let otherGroup = try GroupSecrets(password: "hunter2", group: "demo2")
        XCTAssertNotEqual(otherGroup.authPublicKey, Self.secrets.authPublicKey)
        // The auth key and the group key are independent halves of the master secret.
        let groupKeyBytes = Self.secrets.groupKey.withUnsafeBytes { Array($0) }
        XCTAssertNotEqual(groupKeyBytes, Self.secrets.authPublicKey)
    }

    func testChallengeSignatureIsBoundToChallengeOperationAndName() throws {
        let challenge = Array(repeating: UInt8(3), count: 32)
        let signature = try Self.secrets.sign(challenge: challenge, create: false, name: "bob")
        let verifier = try XCTUnwrap(AuthVerifier(publicKey: Self.secrets.authPublicKey))
        let request = AuthRequest(group: "demo", name: "bob", authPublicKey: nil, signature: signature)
        XCTAssertTrue(verifier.verify(request, challenge: challenge, create: false))
        XCTAssertFalse(verifier.verify(request, challenge: Array(repeating: 4, count: 32), create: false), "replayed for another challenge")
        XCTAssertFalse(verifier.verify(request, challenge: challenge, create: true), "reused for create")
        var renamed = request
        renamed.name = "mallory"
        XCTAssertFalse(verifier.verify(renamed, challenge: challenge, create: false), "reused under another name")
    }

    func testRoutingKeyIsStableHexOfTheGroup() {
        XCTAssertEqual(RoutingKey.path(forGroup: "demo").count, 4 + 16)
        XCTAssertTrue(RoutingKey.path(forGroup: "demo").hasPrefix("/v1/"))
        XCTAssertEqual(RoutingKey.key(forGroup: "demo"), RoutingKey.key(forGroup: "demo"))
        XCTAssertNotEqual(RoutingKey.key(forGroup: "demo"), RoutingKey.key(forGroup: "Demo"))
    }

    private func establish() throws -> (SessionKeys, SessionKeys) {
        let initiator = PairHandshake.Initiator(me: CID(1), peer: CID(2))
        guard case .handshakeInit(let key, let mac) = initiator.initFrame(groupKey: Self.secrets.groupKey) else { throw UnexpectedFrame() }
        let (response, responderKeys) = try PairHandshake.respond(initKey: key, mac: mac, me: CID(2), peer: CID(1), groupKey: Self.secrets.groupKey)
        guard case .handshakeResponse(let responseKey, let responseMAC) = response else { throw UnexpectedFrame() }
        let initiatorKeys = try initiator.finish(responseKey: responseKey, mac: responseMAC, groupKey: Self.secrets.groupKey)
        return (initiatorKeys, responderKeys)
    }

    func testHandshakeGivesMatchingDirectionalKeys() throws {
        let (a, b) = try establish()
        XCTAssertEqual(a.sending, b.receiving)
        XCTAssertEqual(a.receiving, b.sending)
        XCTAssertNotEqual(a.sending, a.receiving)
        let (c, _) = try establish()
        XCTAssertNotEqual(a.sending, c.sending, "every session has fresh keys")
    }

    func testHandshakeRejectsWrongGroupKeyAndRedirectedInit() throws {
        let initiator = PairHandshake.Initiator(me: CID(1), peer: CID(2))
        guard case .handshakeInit(let key, let mac) = initiator.initFrame(groupKey: Self.secrets.groupKey) else { return XCTFail() }
        let stranger = SymmetricKey(size: .bits256)
        XCTAssertThrowsError(try PairHandshake.respond(initKey: key, mac: mac, me: CID(2), peer: CID(1), groupKey: stranger))
        // The relay delivers the same init to CID 3 instead.
        XCTAssertThrowsError(try PairHandshake.respond(initKey: key, mac: mac, me: CID(3), peer: CID(1), groupKey: Self.secrets.groupKey))
    }

    func testSealedFramesOpenOnlyOnceInOrderAndUntampered() throws {
        let (a, b) = try establish()
        var sealer = FrameSealer(key: a.sending)
        var opener = FrameOpener(key: b.receiving)
        var payload = ByteBuffer()
        payload.writeString("hello")
        var frames: [ByteBuffer] = []
        for _ in 0..<3 {
            var frame = ByteBuffer()
            sealer.seal(.data(payload), stream: 2, index: UInt64(frames.count), into: &frame)
            frames.append(frame)
        }
        func open(_ frame: ByteBuffer, index: UInt64) throws -> StreamMessage {
            guard case .sealed(let header, let body) = try PeerFrame.decode(frame) else { throw UnexpectedFrame() }
            return try opener.open(header, body: body, index: index)
        }
        XCTAssertEqual(try open(frames[0], index: 0), .data(payload))
        XCTAssertThrowsError(try open(frames[0], index: 1), "replay")
        var tampered = frames[1]
        tampered.setInteger(tampered.getInteger(at: 20, as: UInt8.self)! ^ 1, at: 20)
        XCTAssertThrowsError(try open(tampered, index: 1), "flipped bit")
        XCTAssertThrowsError(try open(frames[2], index: 1), "a lost frame shows as an index mismatch")
        XCTAssertEqual(try open(frames[1], index: 1), .data(payload), "the untampered frame still opens")
        XCTAssertThrowsError(try open(frames[1], index: 2), "no frame opens twice")
    }

    /// The associated data is exactly the header as sent, then the index.
    func testAssociatedDataIsTheEncodedHeaderAndIndex() {
        let header = SealedHeader(kind: .window, stream: 0x0102_0304, counter: 0x0A0B_0C0D_0E0F_1011)
        var expected = ByteBuffer()
        header.encode(into: &expected)
        expected.writeInteger(UInt64(0x1122_3344_5566_7788))
        XCTAssertEqual(FrameSealer.associatedData(header, index: 0x1122_3344_5566_7788), Array(expected.readableBytesView))
    }
}

struct UnexpectedFrame: Error {}
