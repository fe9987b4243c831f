import NIOCore
import NIOEmbedded
@testable import P22PRelay
import XCTest

/// The first handler of every relay connection: takes a trusted proxy's
/// PROXY header off the stream and settles the client's address.
final class ProxyHeaderReaderTests: XCTestCase {
    /// A relay connection's origin for a channel from `peer`, with `trusted` proxies.
    private func reader(peer: String, trusted: [String], maxConnections: Int = 64) throws -> (EmbeddedChannel, ConnectionOrigin, AddressLimits) {
        var configuration = RelayConfiguration()
        guard case .success(let proxies) = TrustedProxies.parse(trusted) else { throw CancellationError() }
        configuration.trustedProxies = proxies
        configuration.maxConnectionsPerAddress = maxConnections
        let limits = AddressLimits(configuration: configuration)
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: peer, port: 40000)).wait()
        let origin = ConnectionOrigin(channel: channel, limits: limits, metrics: RelayStats().metrics, logger: .init(label: "test"))
        XCTAssertTrue(origin.accepted())
        try channel.pipeline.syncOperations.addHandler(ProxyHeaderReader(origin: origin))
        return (channel, origin, limits)
    }

    func testTheReaderTakesTheHeaderOffAndPassesTheRestOn() throws {
        let (channel, origin, limits) = try reader(peer: "127.0.0.1", trusted: ["127.0.0.1/32"])
        XCTAssertEqual(limits.openConnections(from: "127.0.0.1"), 0, "a trusted proxy's connection is not counted as its own")
        for byte in "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r".utf8 { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
        try channel.writeInbound(ByteBuffer(string: "\nGET / HTTP/1.1\r\n"))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        try channel.writeInbound(ByteBuffer(string: "PROXY TCP4 198.51.100.9 192.0.2.1 1 2\r\n"))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "PROXY TCP4 198.51.100.9 192.0.2.1 1 2\r\n"),
                       "only the first header is taken: the reader is gone")
        XCTAssertEqual(origin.clientAddress, "203.0.113.7")
        XCTAssertEqual(limits.openConnections(from: "203.0.113.7"), 1)
        XCTAssertTrue(channel.isActive)
        _ = try channel.finish()
        XCTAssertEqual(limits.openConnections(from: "203.0.113.7"), 0, "closing frees the place")
    }

    func testWithoutAHeaderNothingChanges() throws {
        let (channel, origin, _) = try reader(peer: "192.0.2.50", trusted: ["127.0.0.1/32"])
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        XCTAssertEqual(origin.clientAddress, "192.0.2.50")
        _ = try channel.finish()
    }

    func testAHeaderFromAnUntrustedPeerOrABrokenOneClosesTheConnection() throws {
        let (untrusted, origin, _) = try reader(peer: "192.0.2.50", trusted: ["127.0.0.1/32"])
        try untrusted.writeInbound(ByteBuffer(string: "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\nGET"))
        XCTAssertFalse(untrusted.isActive)
        XCTAssertNil(try untrusted.readInbound(as: ByteBuffer.self))
        XCTAssertEqual(origin.clientAddress, "192.0.2.50", "an untrusted peer's claim is not taken")

        let (broken, _, _) = try reader(peer: "127.0.0.1", trusted: ["127.0.0.1/32"])
        try broken.writeInbound(ByteBuffer(string: "PROXY TCP4 203.0.113.7 nonsense 1 2\r\n"))
        XCTAssertFalse(broken.isActive)
    }

    func testAProxiedAddressOverItsLimitIsClosed() throws {
        var configuration = RelayConfiguration()
        guard case .success(let proxies) = TrustedProxies.parse(["127.0.0.1"]) else { return XCTFail() }
        configuration.trustedProxies = proxies
        configuration.maxConnectionsPerAddress = 2
        let limits = AddressLimits(configuration: configuration)
        var channels: [EmbeddedChannel] = []
        for _ in 0..<3 {
            let channel = EmbeddedChannel()
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
            let origin = ConnectionOrigin(channel: channel, limits: limits, metrics: RelayStats().metrics, logger: .init(label: "test"))
            XCTAssertTrue(origin.accepted())
            try channel.pipeline.syncOperations.addHandler(ProxyHeaderReader(origin: origin))
            try channel.writeInbound(ByteBuffer(string: "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n"))
            channels.append(channel)
        }
        XCTAssertEqual(channels.map(\.isActive), [true, true, false])
        XCTAssertEqual(limits.openConnections(from: "203.0.113.7"), 2)
        for channel in channels where channel.isActive { _ = try channel.finish() }
        XCTAssertEqual(limits.openConnections(from: "203.0.113.7"), 0)
    }
}
