@preconcurrency import Crypto
import NIOCore
@testable import P22PCrypto
import P22PWire
import XCTest

/// The vectors in docs/PROTOCOL.md (appendix), computed there by
/// docs/vectors.py from the text of the specification with Python's own
/// crypto: the Swift code must produce exactly the same bytes.
final class KnownAnswerTests: XCTestCase {
    static let derivation = KeyDerivation(salt: Array(0..<16), logN: 17, blockSize: 8, parallelism: 1)
    /// At the standard cost, so the vector is one a user's client computes.
    static let secrets = try! GroupSecrets(password: "correct horse battery staple", group: "demo", derivation: derivation)

    private func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    private func hex(_ key: SymmetricKey) -> String { key.withUnsafeBytes { hex($0) } }
    private func hex(_ buffer: ByteBuffer) -> String { hex(buffer.readableBytesView) }
    private func bytes(_ hexText: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hexText.startIndex
        while index < hexText.endIndex {
            let next = hexText.index(index, offsetBy: 2)
            out.append(UInt8(hexText[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    func testKeyDerivation() {
        XCTAssertEqual(hex(Self.derivation.encoded), "000102030405060708090a0b0c0d0e0f110801")
        XCTAssertEqual(hex(Self.secrets.authPublicKey), "58403d8fef713b53214c83ea5db56d4e19b5ab4da4159e6ee8343ad37a1b64e8")
        XCTAssertEqual(hex(Self.secrets.groupKey), "597a59ec21f3195c7d3ab91f0e54f29a85b4d99216c7debc2dadc09d0efba42f")
    }

    func testJoinTranscriptAndSignatures() throws {
        let identity = try MemberIdentity(seed: Array(repeating: 2, count: 32))
        XCTAssertEqual(hex(identity.publicKey), "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394")
        var request = AuthRequest(group: "demo", name: "laptop", memberKey: identity.publicKey)
        let challenge = Array(UInt8(0)..<32)
        XCTAssertEqual(hex(request.transcript(challenge: challenge)),
                       "703232702d617574682d7632000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f020464656d6f066c6170746f708139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394")
        try Self.secrets.sign(&request, challenge: challenge, identity: identity)
        XCTAssertEqual(hex(request.signature),
                       "42b2cc39c41c6851ca79c7b1be502a8221e0701827b434860bf352fa0e62dd4e9cdf6063adc77bfa70119175bdb4707fc4ab50248826ae0e34035dcc8c7a9008")
        XCTAssertEqual(hex(request.memberSignature),
                       "dd4a8d74426d69736ffdb3c63ad1d410c869999617d5355919b7443bfd7a2ee4befacc610b8641d2e120dc160fbd4168a09d28b23acef629af53a575ee526f06")
    }

    private func handshake() throws -> (initFrame: ByteBuffer, response: ByteBuffer, laptop: SessionKeys, home: SessionKeys) {
        let laptop = PairHandshake.Local(group: "demo", groupKey: Self.secrets.groupKey,
                                         identity: try MemberIdentity(seed: Array(repeating: 3, count: 32)), name: "laptop", cid: CID(1))
        let home = PairHandshake.Local(group: "demo", groupKey: Self.secrets.groupKey,
                                       identity: try MemberIdentity(seed: Array(repeating: 5, count: 32)), name: "home-pc", cid: CID(2))
        let initiator = PairHandshake.Initiator(laptop, peer: CID(2),
                                                ephemeral: try .init(rawRepresentation: Array(repeating: UInt8(4), count: 32)))
        let (response, homeKeys, _, _) = try PairHandshake.respond(to: initiator.message, from: CID(1), as: home,
                                                                 ephemeral: try .init(rawRepresentation: Array(repeating: UInt8(6), count: 32)))
        let (laptopKeys, proof, _) = try initiator.finish(response)
        XCTAssertEqual(proof.name, "home-pc")
        var initFrame = ByteBuffer()
        PeerFrame.handshakeInit(initiator.message).encode(into: &initFrame)
        var responseFrame = ByteBuffer()
        PeerFrame.handshakeResponse(response).encode(into: &responseFrame)
        return (initFrame, responseFrame, laptopKeys, homeKeys)
    }

    func testPairHandshake() throws {
        let (initFrame, response, laptop, home) = try handshake()
        XCTAssertEqual(hex(initFrame), "01ac01b2209e86354fb853237b5de0f4fab13c7fcbf433a61c019369617fecf10bed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1066c6170746f709e530873675ce0404c226be44f104e73960434eec191bfd5e4a8288d5283fef4bd08599f9841d2ebeaf96ce435fd6e7146ed9357d163519d7a6c04514fd44a0a05f43a917ae120a79f71e6e0401bc3d1fcad133b08d44c99ae184e1c04b55e1a")
        XCTAssertEqual(hex(response), "02f5b2d6e60f9477e310c2982daaa6c9136c108a1777c5947e448fa37d681745576e7a1cdd29b0b78fd13af4c5598feff4ef2a97166e3ca6f2e4fbfccd80505bf107686f6d652d7063f12863a75f5326e7e37aee24eeac581d66dd535b604f27bbd3362b9c2391fea8d90bd0f5fd9d2b389f91467d03748b79732c079b4e54eee7a57e7df9c67db70e5824b1b99c6ff1695d847a40b33bbc68d5dd9fc59c487b242be1ed9145f87d8e")
        XCTAssertEqual(hex(laptop.sending), "2fd0b02b60e6f0ab2ec97417be63d8bee6581fd94c5545e2dd9d0e265f904a35")
        XCTAssertEqual(hex(laptop.receiving), "bbac92e2adadd2a19f32dc108fb8740c8659e8b7aa71a42f32f216b182f5d72d")
        XCTAssertEqual(hex(home.receiving), hex(laptop.sending))
    }

    /// Version 3: the first session's ticket, then a resumed handshake on
    /// new CIDs (a relay restart), and the first frame of it, home-pc's list.
    func testResumption() throws {
        let (_, _, laptopFirst, homeFirst) = try handshake()
        XCTAssertEqual(hex(laptopFirst.ticket.secret), "022656e21440bafd06f6f8372952180b35e8c09bc879ee0813195a50106ecd65")
        XCTAssertEqual(hex(laptopFirst.ticket.id), "58272ab2a941b7516f8948b8ba214f19")
        XCTAssertEqual(homeFirst.ticket.id, laptopFirst.ticket.id)

        let laptop = PairHandshake.Local(group: "demo", groupKey: Self.secrets.groupKey,
                                         identity: try MemberIdentity(seed: Array(repeating: 3, count: 32)), name: "laptop", cid: CID(7))
        let home = PairHandshake.Local(group: "demo", groupKey: Self.secrets.groupKey,
                                       identity: try MemberIdentity(seed: Array(repeating: 5, count: 32)), name: "home-pc", cid: CID(9))
        let initiator = PairHandshake.Initiator(laptop, peer: CID(9), resuming: laptopFirst.ticket,
                                                ephemeral: try .init(rawRepresentation: Array(repeating: UInt8(7), count: 32)))
        let (response, homeKeys, _, homeResumed) = try PairHandshake.respond(
            to: initiator.message, from: CID(7), as: home, ticket: { $0 == homeFirst.ticket.id ? homeFirst.ticket : nil },
            ephemeral: try .init(rawRepresentation: Array(repeating: UInt8(8), count: 32)))
        let (laptopKeys, _, laptopResumed) = try initiator.finish(response)
        XCTAssertTrue(homeResumed)
        XCTAssertTrue(laptopResumed)
        var initFrame = ByteBuffer()
        PeerFrame.handshakeInit(initiator.message).encode(into: &initFrame)
        var responseFrame = ByteBuffer()
        PeerFrame.handshakeResponse(response).encode(into: &responseFrame)
        XCTAssertEqual(hex(initFrame), "0113be4feaeaf204c7fd3358fc9c00721881d174278128227ec674f37f7fe97b6ded4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1066c6170746f70d3bbded2b92432aedbb271340ede16660c43521ee94334b785e938e38a341df2d8664d48be0822398d736203073e09501093e573523fb595ceb3fd3064b9410aab1376e7268487b9cc3ef40a6b0a2565b6e5f6b3bf4e5290349e17e8819537e358272ab2a941b7516f8948b8ba214f19")
        XCTAssertEqual(hex(responseFrame), "0231d4ab6aceec961137917037936e60716fac573afe94d9da84a8020448dfc1126e7a1cdd29b0b78fd13af4c5598feff4ef2a97166e3ca6f2e4fbfccd80505bf107686f6d652d70637f78176c72a31667ca18a2f47c2572779e2efea1e871e7a1cd68629c31e153aa9a00d875ddd1083b3406ea9ac1e06e096ab0cc9051ca214dfcd749357c4e7c0f1f90b38c3d5bdd989215f1cf81c5c976433c6abcfb2d1ea25a305491accf093158272ab2a941b7516f8948b8ba214f19")
        XCTAssertEqual(hex(laptopKeys.sending), "a5559b9dc58c967c6b915db145c691cbe0db5a85472ef3bec2fbebe283b71621")
        XCTAssertEqual(hex(laptopKeys.receiving), "28333aaca7fe811e4b0dcf410775c49c573fbb9dc92e5c1a7dd4597c89bdeeaf")
        XCTAssertEqual(hex(homeKeys.sending), hex(laptopKeys.receiving))
        XCTAssertEqual(hex(laptopKeys.ticket.secret), "c1b4278676b06c68c4fe499a4f192797e68d109b03bda20c8a0a1e4b4733b7ad")
        XCTAssertEqual(hex(laptopKeys.ticket.id), "abc87f09030b8f5e5c783521628381c6")

        var sealer = FrameSealer(key: homeKeys.sending)
        var list = ByteBuffer()
        sealer.seal(.resume([StreamResume(stream: 1, received: 5, granted: 0, credit: 1_048_571, isOpen: true, finishReceived: false)], last: true),
                    stream: 0, index: 0, into: &list)
        XCTAssertEqual(hex(list), "030b0000000000000000000000009795bc91841d2102d440aac28a8a386c29726e1fcdce30c00726c002cab7d4444d9339767e4fb6ee4b8b")
    }

    func testSealedFramesAndRekey() throws {
        var sealer = FrameSealer(key: SymmetricKey(data: bytes("2fd0b02b60e6f0ab2ec97417be63d8bee6581fd94c5545e2dd9d0e265f904a35")))
        func seal(_ message: StreamMessage, stream: UInt32, index: UInt64) -> String {
            var frame = ByteBuffer()
            sealer.seal(message, stream: stream, index: index, into: &frame)
            return hex(frame)
        }
        XCTAssertEqual(seal(.data(ByteBuffer(string: "hello")), stream: 1, index: 0),
                       "0304000000010000000000000000fcd0f735568ab133c3ed9e223c653761ea9daa66fd")
        XCTAssertEqual(seal(.finish(sentBytes: 5), stream: 1, index: 1),
                       "0306000000010000000000000001472eee171d9eebc9290ae02193af153d276e7059a369e713")
        XCTAssertEqual(seal(.rekey, stream: 0, index: 0), "030a000000000000000000000002c7a0ee5eb8d8620c57467bf4a650d1c2")
        sealer.rekey()
        XCTAssertEqual(hex(sealer.key), "20844d52f32c45ea4d1e77829493881e93caf51c4c6f1691a2099847b15c667a")
        XCTAssertEqual(seal(.data(ByteBuffer(string: "world")), stream: 1, index: 2),
                       "03040000000100000000000000001a10974f9f36d1d8d382d6879e5743dfe51d3c7cea")
    }
}
