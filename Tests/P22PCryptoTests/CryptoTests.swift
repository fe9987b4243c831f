import Crypto
import NIOCore
@testable import P22PCrypto
import P22PWire
import XCTest
import Foundation

final class CryptoTests: XCTestCase {
    /// A cheap cost for unit tests (the cost is a parameter of the group,
    /// chosen at create); the tools use `KDFParameters.standard`.
    static let cheap = KDFParameters(logN: 10, blockSize: 8, parallelism: 1)
    static let salt = Array(repeating: UInt8(0x5A), count: KeyDerivation.saltSize)
    static let secrets = try! GroupSecrets(password: "hunter2", group: "demo", derivation: cheap.derivation(salt: salt))

    func testKeysDependOnPasswordGroupAndSalt() throws {
        let again = try GroupSecrets(password: "hunter2", group: "demo", derivation: Self.cheap.derivation(salt: Self.salt))
        XCTAssertEqual(again.authPublicKey, Self.secrets.authPublicKey)
        let otherGroup = try GroupSecrets(password: "hunter2", group: "demo2", derivation: Self.cheap.derivation(salt: Self.salt))
        XCTAssertNotEqual(otherGroup.authPublicKey, Self.secrets.authPublicKey)
        let otherSalt = try GroupSecrets(password: "hunter2", group: "demo", derivation: Self.cheap.derivation(salt: GroupSecrets.newSalt()))
        XCTAssertNotEqual(otherSalt.authPublicKey, Self.secrets.authPublicKey, "a table built for one salt is useless for another")
        // The auth key and the group key are independent halves of the master secret.
        let groupKeyBytes = Self.secrets.groupKey.withUnsafeBytes { Array($0) }
        XCTAssertNotEqual(groupKeyBytes, Self.secrets.authPublicKey)
    }

    func testWeakerCostThanTheFloorIsRefused() {
        XCTAssertTrue(KDFParameters.standard.isAtLeast(.standard))
        XCTAssertFalse(KDFParameters(logN: 16, blockSize: 8, parallelism: 1).isAtLeast(.standard))
        XCTAssertFalse(KDFParameters(logN: 17, blockSize: 4, parallelism: 2).isAtLeast(.standard), "less memory is weaker even with more passes")
        XCTAssertTrue(KDFParameters(logN: 18, blockSize: 8, parallelism: 1).isAtLeast(.standard))
    }

    func testChallengeSignaturesAreBoundToChallengeOperationNameAndMemberKey() throws {
        let challenge = Array(repeating: UInt8(3), count: 32)
        let identity = MemberIdentity()
        var request = AuthRequest(group: "demo", name: "bob", memberKey: identity.publicKey)
        try Self.secrets.sign(&request, challenge: challenge, identity: identity)
        let verifier = try XCTUnwrap(AuthVerifier(publicKey: Self.secrets.authPublicKey))
        XCTAssertTrue(verifier.verify(request, challenge: challenge))
        XCTAssertTrue(AuthVerifier.verifyMemberKey(request, challenge: challenge))
        XCTAssertFalse(verifier.verify(request, challenge: Array(repeating: 4, count: 32)), "replayed for another challenge")
        XCTAssertFalse(AuthVerifier.verifyMemberKey(request, challenge: Array(repeating: 4, count: 32)), "replayed for another challenge")
        var asCreate = request
        asCreate.authPublicKey = Self.secrets.authPublicKey
        asCreate.derivation = Self.secrets.derivation
        XCTAssertFalse(verifier.verify(asCreate, challenge: challenge), "reused for create")
        var renamed = request
        renamed.name = "mallory"
        XCTAssertFalse(verifier.verify(renamed, challenge: challenge), "reused under another name")
        var otherKey = request
        otherKey.memberKey = MemberIdentity().publicKey
        XCTAssertFalse(verifier.verify(otherKey, challenge: challenge), "the password proof names the member key")
        XCTAssertFalse(AuthVerifier.verifyMemberKey(otherKey, challenge: challenge), "a key claimed without its private half")
    }

    func testRoutingKeyIsStableHexOfTheGroup() {
        XCTAssertEqual(RoutingKey.path(forGroup: "demo").count, 4 + 16)
        XCTAssertTrue(RoutingKey.path(forGroup: "demo").hasPrefix("/v1/"))
        XCTAssertEqual(RoutingKey.key(forGroup: "demo"), RoutingKey.key(forGroup: "demo"))
        XCTAssertNotEqual(RoutingKey.key(forGroup: "demo"), RoutingKey.key(forGroup: "Demo"))
    }

    static let alice = MemberIdentity()
    static let bob = MemberIdentity()

    static func local(_ name: String, _ identity: MemberIdentity, cid: UInt16, groupKey: SymmetricKey = secrets.groupKey) -> PairHandshake.Local {
        PairHandshake.Local(group: "demo", groupKey: groupKey, identity: identity, name: name, cid: CID(cid))
    }

    private func establish() throws -> (SessionKeys, SessionKeys) {
        let initiator = PairHandshake.Initiator(Self.local("alice", Self.alice, cid: 1), peer: CID(2))
        let (response, responderKeys, initiatorProof, _) = try PairHandshake.respond(to: initiator.message, from: CID(1), as: Self.local("bob", Self.bob, cid: 2))
        XCTAssertEqual(initiatorProof, PairHandshake.PeerProof(name: "alice", staticKey: Self.alice.publicKey))
        let (initiatorKeys, responderProof, _) = try initiator.finish(response)
        XCTAssertEqual(responderProof, PairHandshake.PeerProof(name: "bob", staticKey: Self.bob.publicKey))
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

    func testHandshakeRejectsWrongGroupKeyRedirectedInitAndRewrittenName() throws {
        let initiator = PairHandshake.Initiator(Self.local("alice", Self.alice, cid: 1), peer: CID(2))
        let stranger = SymmetricKey(size: .bits256)
        XCTAssertThrowsError(try PairHandshake.respond(to: initiator.message, from: CID(1), as: Self.local("bob", Self.bob, cid: 2, groupKey: stranger))) {
            XCTAssertEqual($0 as? PairHandshake.Failure, .badMAC)
        }
        // The relay delivers the same init to CID 3 instead.
        XCTAssertThrowsError(try PairHandshake.respond(to: initiator.message, from: CID(1), as: Self.local("carol", MemberIdentity(), cid: 3)))
        // The relay rewrites the claimed name: the MAC and the signature cover it.
        var renamed = initiator.message
        renamed.name = "home-pc"
        XCTAssertThrowsError(try PairHandshake.respond(to: renamed, from: CID(1), as: Self.local("bob", Self.bob, cid: 2)))
        // A response to another init does not finish this one.
        let other = PairHandshake.Initiator(Self.local("alice", Self.alice, cid: 1), peer: CID(2))
        let (response, _, _, _) = try PairHandshake.respond(to: other.message, from: CID(1), as: Self.local("bob", Self.bob, cid: 2))
        XCTAssertThrowsError(try initiator.finish(response))
    }

    /// A resumed session (new CIDs, as after a relay restart) mixes in the
    /// earlier secret: both sides agree, the keys are new, and a side that
    /// does not hold the ticket cannot derive them.
    func testResumptionMixesTheEarlierSecretAndAStrippedIDFails() throws {
        let (first, firstResponder) = try establish()
        XCTAssertEqual(first.ticket.id, firstResponder.ticket.id)
        let ticket = first.ticket
        let initiator = PairHandshake.Initiator(Self.local("alice", Self.alice, cid: 7), peer: CID(9), resuming: ticket)
        XCTAssertEqual(initiator.message.resume, ticket.id)
        let (response, responderKeys, _, resumedThere) = try PairHandshake.respond(
            to: initiator.message, from: CID(7), as: Self.local("bob", Self.bob, cid: 9),
            ticket: { $0 == firstResponder.ticket.id ? firstResponder.ticket : nil })
        let (initiatorKeys, _, resumedHere) = try initiator.finish(response)
        XCTAssertTrue(resumedThere)
        XCTAssertTrue(resumedHere)
        XCTAssertEqual(initiatorKeys.sending, responderKeys.receiving)
        XCTAssertNotEqual(initiatorKeys.sending, first.sending)
        XCTAssertNotEqual(initiatorKeys.ticket.id, ticket.id, "every resumption chains a new ticket")

        // A responder without the ticket starts afresh, and says so.
        let (fresh, _, _, resumedFresh) = try PairHandshake.respond(to: initiator.message, from: CID(7), as: Self.local("bob", Self.bob, cid: 9))
        XCTAssertFalse(resumedFresh)
        XCTAssertFalse(try initiator.finish(fresh).resumed)
        // A relay that strips the offer breaks the init's MAC.
        var stripped = initiator.message
        stripped.resume = []
        XCTAssertThrowsError(try PairHandshake.respond(to: stripped, from: CID(7), as: Self.local("bob", Self.bob, cid: 9))) {
            XCTAssertEqual($0 as? PairHandshake.Failure, .badMAC)
        }
        // An echo of some other id is refused.
        var wrongEcho = response
        wrongEcho.resume = Array(repeating: 1, count: ResumptionTicket.idSize)
        XCTAssertThrowsError(try initiator.finish(wrongEcho)) { XCTAssertEqual($0 as? PairHandshake.Failure, .wrongResumption) }
    }

    /// A group member (it has the group key) can sign only with its own
    /// static key: claiming another member's key fails the signature.
    func testMemberCannotClaimAnotherMembersKey() throws {
        let initiator = PairHandshake.Initiator(Self.local("mallory", MemberIdentity(), cid: 1), peer: CID(2))
        var forged = initiator.message
        forged.staticKey = Self.alice.publicKey
        XCTAssertThrowsError(try PairHandshake.respond(to: forged, from: CID(1), as: Self.local("bob", Self.bob, cid: 2)))
    }

    func testIdentityFileTextRoundTripsAndPublicKeyParses() throws {
        let identity = MemberIdentity()
        let parsed = try XCTUnwrap(MemberIdentity.parse(fileText: identity.fileText()))
        XCTAssertEqual(parsed.publicKey, identity.publicKey)
        XCTAssertEqual(MemberIdentity.publicKey(fromText: identity.publicKeyText), identity.publicKey)
        XCTAssertNil(MemberIdentity.publicKey(fromText: "not a key"))
        XCTAssertNil(MemberIdentity.parse(fileText: "-----BEGIN OPENSSH PRIVATE KEY-----\n"))
    }

    func testSecretFileIsCreatedOwnerOnly() throws {
        let path = NSTemporaryDirectory() + "p22p-secret-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let previous = umask(0)
        defer { umask(previous) }
        try SecretFile.write(Array("seed".utf8), to: path)
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o777, 0o600, "0600 even with umask 0")
        XCTAssertFalse(SecretFile.isReadableByOthers(path))
        chmod(path, 0o644)
        XCTAssertTrue(SecretFile.isReadableByOthers(path))
    }

    func testReservationSignatureCoversTheCreatorKey() throws {
        let relay = Curve25519.Signing.PrivateKey()
        let creator = MemberIdentity()
        var reservation = try Reservation.issue(group: "#club", creatorOnly: true, creatorKey: creator.publicKey, expires: 2_000_000_000, key: relay)
        XCTAssertTrue(reservation.isSigned(by: relay.publicKey))
        XCTAssertEqual(reservation.creatorKey, creator.publicKey)
        reservation.identity = creator.seedText
        XCTAssertEqual(reservation.creatorIdentity?.publicKey, creator.publicKey)
        XCTAssertNil(reservation.publicPart.identity, "the private seed never travels")
        XCTAssertFalse(String(decoding: reservation.publicPart.encoded(), as: UTF8.self).contains(creator.seedText))
        var stolen = reservation.publicPart
        stolen.creator = MemberIdentity().publicKeyText
        XCTAssertFalse(stolen.isSigned(by: relay.publicKey), "the creator cannot be swapped")
    }

    func testGeneratedPasswordsCarry128BitsAndDiffer() {
        let password = PasswordGenerator.generate()
        let letters = password.filter { $0 != "-" }
        XCTAssertEqual(letters.count, 26)
        XCTAssertTrue(letters.allSatisfy { PasswordGenerator.alphabet.contains($0) })
        XCTAssertGreaterThanOrEqual(Double(letters.count) * log2(Double(PasswordGenerator.alphabet.count)), 128)
        XCTAssertNotEqual(password, PasswordGenerator.generate())
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

    /// Messages with an empty body (`rekey`, `finishAcknowledged`) are
    /// only a tag: a wrong tag must still be refused, and control messages
    /// sealed in place must open to what was sent.
    func testEmptyAndControlMessagesAreAuthenticatedToo() throws {
        let (a, b) = try establish()
        var sealer = FrameSealer(key: a.sending)
        var opener = FrameOpener(key: b.receiving)
        func open(_ frame: ByteBuffer, index: UInt64) throws -> StreamMessage {
            guard case .sealed(let header, let body) = try PeerFrame.decode(frame) else { throw UnexpectedFrame() }
            return try opener.open(header, body: body, index: index)
        }
        var empty = ByteBuffer()
        sealer.seal(.finishAcknowledged, stream: 4, index: 0, into: &empty)
        var forged = empty
        let last = forged.writerIndex - 1
        forged.setInteger(forged.getInteger(at: last, as: UInt8.self)! ^ 0x80, at: last)
        XCTAssertThrowsError(try open(forged, index: 0), "an empty message with a wrong tag")
        XCTAssertEqual(try open(empty, index: 0), .finishAcknowledged)
        var prefixed = ByteBuffer(string: "unrelated bytes before the frame")
        prefixed.moveReaderIndex(forwardBy: 7)  // sealing in place must not assume the buffer starts at 0
        let start = prefixed.writerIndex
        sealer.seal(.reset(reason: "target refused"), stream: 4, index: 1, into: &prefixed)
        XCTAssertEqual(try open(prefixed.getSlice(at: start, length: prefixed.writerIndex - start)!, index: 1), .reset(reason: "target refused"))
    }

    func testRekeyMovesBothEndsToAOneWayNextKey() throws {
        let (a, b) = try establish()
        var sealer = FrameSealer(key: a.sending)
        var opener = FrameOpener(key: b.receiving)
        var payload = ByteBuffer()
        payload.writeString("epoch")
        func seal(_ index: UInt64) -> ByteBuffer {
            var frame = ByteBuffer()
            sealer.seal(.data(payload), stream: 2, index: index, into: &frame)
            return frame
        }
        func open(_ frame: ByteBuffer, index: UInt64) throws -> StreamMessage {
            guard case .sealed(let header, let body) = try PeerFrame.decode(frame) else { throw UnexpectedFrame() }
            return try opener.open(header, body: body, index: index)
        }
        let before = seal(0)
        XCTAssertEqual(try open(before, index: 0), .data(payload))
        sealer.rekey()
        opener.rekey()
        XCTAssertEqual(sealer.epoch, 1)
        XCTAssertEqual(sealer.counter, 0, "the counter starts again under the new key")
        XCTAssertEqual(try open(seal(1), index: 1), .data(payload))
        XCTAssertThrowsError(try open(before, index: 2), "a frame of the old key does not open under the new one")
        XCTAssertNotEqual(FrameSealer.nextKey(after: a.sending), a.sending)
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
