import Foundation
import P22PClient
import P22PRelay
import P22PWire
import XCTest

/// Whatever arrives from the network, the relay closes only the offending
/// connection, logs why, and every member goes on.
final class HostileInputTests: XCTestCase {
    private var cluster: Cluster!
    private var echo: TCPTestServer!
    private var forwardPort = 0

    override func setUp() async throws {
        echo = try TCPTestServer.echo()
        cluster = try await Cluster { $0.maxFrameSize = 8192 }
        forwardPort = try await cluster.pair(allow: ["\(echo.port)"], target: echo.port).port
    }

    override func tearDown() async throws {
        await cluster.shutdown()
        echo.stop()
    }

    private var relayPort: Int { cluster.relay.localAddress.port! }

    /// The existing pair still forwards, and a newcomer can still join.
    private func assertEveryoneElseGoesOn(file: StaticString = #filePath, line: UInt = #line) async throws {
        let message = randomBytes(10_000)
        XCTAssertEqual(try roundTrip(port: forwardPort, message: message), message, file: file, line: line)
        let newcomer = "late\(Int.random(in: 0...999_999))"
        _ = try await cluster.member(newcomer)
    }

    private func timesLogged(_ text: String) -> Int { cluster.relayLog.all.filter { $0.contains(text) }.count }

    /// Waits for `text` to be logged more often than `before` times.
    private func assertLogged(_ text: String, moreThan before: Int = 0, file: StaticString = #filePath, line: UInt = #line) async throws {
        for _ in 0..<100 where timesLogged(text) <= before { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertGreaterThan(timesLogged(text), before, "relay log lacks a new \"\(text)\": \(cluster.relayLog.all.suffix(5))", file: file, line: line)
    }

    func testRandomBytesInsteadOfHTTP() async throws {
        let connection = try TCPConnection.connect(port: relayPort, timeoutSeconds: 10)
        defer { connection.close() }
        try connection.send(randomBytes(4096).map { $0 == 0x0A ? 0x00 : $0 })
        _ = try? connection.receiveAllHashed()   // ends with EOF or reset, not a timeout
        try await assertLogged("bad HTTP before the WebSocket handshake")
        try await assertEveryoneElseGoesOn()
    }

    func testPlainHTTPAndWrongProtocolAreRefusedWithAReason() async throws {
        let plain = try TCPConnection.connect(port: relayPort)
        defer { plain.close() }
        try plain.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let (count, _) = try plain.receiveAllHashed()
        XCTAssertGreaterThan(count, 0)

        let (socket, response) = try RawWebSocket.open(port: relayPort, subprotocol: "p22p.v0")
        defer { socket.connection.close() }
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 400"), "got: \(response)")
        let body = try socket.connection.receive()
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains("p22p.v1"))
        try await assertEveryoneElseGoesOn()
    }

    func testMalformedFramesAfterTheHandshakeCloseOnlyThatConnection() async throws {
        let cases: [(String, [UInt8], String)] = [
            ("unknown kind", [0x7F, 1, 2, 3], "malformed frame"),
            ("truncated create", [0x10, 1, 4], "malformed frame"),
            ("empty message", [], "malformed frame"),
            ("relayed before join", [0x40, 0, 1, 3, 4], "relayed frame before joining"),
            ("hello from a member", Frame.control(.hello(version: 2, challenge: Array(repeating: 0, count: 32), maxFrameSize: 8192, derivation: nil)).encoded().readableBytesView.map { $0 }, "unexpected"),
        ]
        for (name, payload, logged) in cases {
            let before = timesLogged(logged)
            let (socket, response) = try RawWebSocket.open(port: relayPort)
            defer { socket.connection.close() }
            XCTAssertTrue(response.hasPrefix("HTTP/1.1 101"), "\(name): \(response)")
            try socket.send(payload)
            let reason = try socket.waitForClose()
            XCTAssertNotNil(reason, "\(name): the relay should say why it closes")
            try await assertLogged(logged, moreThan: before)
        }
        try await assertEveryoneElseGoesOn()
    }

    func testOversizedAndTextFramesAreRefused() async throws {
        let (big, _) = try RawWebSocket.open(port: relayPort)
        defer { big.connection.close() }
        try? big.send(randomBytes(100_000))
        let reason = try XCTUnwrap(try big.waitForClose(), "the relay should say why it closes")
        XCTAssertTrue(reason.contains("more than the limit"), "got: \(reason)")

        let (text, _) = try RawWebSocket.open(port: relayPort)
        defer { text.connection.close() }
        try text.send(opcode: 0x1, Array("hello".utf8))
        XCTAssertEqual(try text.waitForClose(), "binary frames only")
        try await assertLogged("text WebSocket frame")
        try await assertEveryoneElseGoesOn()
    }

    /// Many connections saying random things: none of them may take the relay down.
    func testRandomFramesFromManyConnections() async throws {
        for round in 0..<60 {
            let (socket, _) = try RawWebSocket.open(port: relayPort)
            defer { socket.connection.close() }
            var payload = randomBytes(Int.random(in: 0...300))
            if round % 3 == 0, !payload.isEmpty { payload[0] = 0x10 }   // a create with random fields
            if round % 3 == 1, !payload.isEmpty { payload[0] = 0x11 }   // a join with random fields
            try? socket.send(payload)
            _ = try? socket.waitForClose(seconds: 5)
        }
        try await assertEveryoneElseGoesOn()
    }

    func testSilentConnectionIsClosedAfterTheAuthTimeout() async throws {
        await cluster.shutdown()
        cluster = try await Cluster { $0.authTimeout = .milliseconds(500) }
        forwardPort = try await cluster.pair(allow: ["\(echo.port)"], target: echo.port).port
        let (socket, _) = try RawWebSocket.open(port: relayPort)
        defer { socket.connection.close() }
        let started = Date()
        _ = try socket.waitForClose(seconds: 10)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        try await assertLogged("no successful create or join")
        try await assertEveryoneElseGoesOn()
    }
}
