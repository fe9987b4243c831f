import Foundation
import NIOCore
@testable import P22PClient
import XCTest

/// How UDP flows end and how many there may be: a removed forward or a
/// narrowed allow list ends them on the peer too, and neither a forward nor
/// a peer can hold more than `PeerSession.udpFlowLimit` sockets open.
final class UDPFlowLifecycleTests: XCTestCase {
    private var cluster: Cluster!

    override func setUp() async throws {
        cluster = try await Cluster()
    }

    override func tearDown() async throws {
        await cluster.shutdown()
    }

    private func udpForward(to port: Int) -> ForwardSpec {
        ForwardSpec(peer: .name("host"), listen: TargetAddress(host: "127.0.0.1", port: 0),
                    target: TargetAddress(host: "127.0.0.1", port: port), ipProtocol: .udp)
    }

    /// Waits (at most `timeout`) until `member` has `count` flows open, and returns what it has.
    @discardableResult
    private func waitForFlows(on member: Member, _ matches: @escaping ([FlowInfo]) -> Bool,
                              timeout: TimeInterval = 10) async throws -> [FlowInfo] {
        let deadline = Date().addingTimeInterval(timeout)
        var flows = try await member.flows().get()
        while !matches(flows), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            flows = try await member.flows().get()
        }
        return flows
    }

    /// A forward with one answered flow: the host, the guest, the spec and its local port.
    private func answeredFlow(echo: UDPEchoServer) async throws -> (host: Member, guest: Member, spec: ForwardSpec, port: Int, client: UDPSocket) {
        let host = try await cluster.member("host", mode: .create, allow: ["\(echo.port)/udp"])
        let guest = try await cluster.member("guest")
        let spec = udpForward(to: echo.port)
        let port = try await cluster.addForward(on: guest, spec).get()
        let client = try UDPSocket()
        try client.send(Array("hello".utf8), to: port)
        XCTAssertEqual(client.receive()?.bytes, Array("hello".utf8))
        let hostFlows = try await host.flows().get()
        XCTAssertEqual(hostFlows.count, 1, "the host has a socket for the flow")
        return (host, guest, spec, port, client)
    }

    func testRemovingAUDPForwardEndsItsFlowOnThePeer() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let (host, guest, spec, _, client) = try await answeredFlow(echo: echo)
        defer { client.close() }

        try await cluster.removeForward(on: guest, spec)
        let left = try await waitForFlows(on: host) { $0.isEmpty }
        XCTAssertEqual(left.count, 0, "the host closed the flow's socket: \(left)")
        let guestFlows = try await guest.flows().get()
        XCTAssertEqual(guestFlows.count, 0)
    }

    func testDenyingAUDPTargetEndsItsOpenFlow() async throws {
        let echo = try UDPEchoServer()
        defer { echo.stop() }
        let (host, _, _, port, client) = try await answeredFlow(echo: echo)
        defer { client.close() }

        try await cluster.setAllowList(on: host, [])
        let left = try await waitForFlows(on: host) { $0.isEmpty }
        XCTAssertEqual(left.count, 0, "the flow ended when its target left the allow list: \(left)")
        let reached = echo.count
        // The next datagram asks again, and is refused.
        client.setTimeout(milliseconds: 200)
        for attempt in 1...20 {
            try client.send([UInt8(attempt)], to: port)
            XCTAssertNil(client.receive(), "no answer once the target is denied")
            if cluster.memberLog.all.contains(where: { $0.contains("host refused UDP to 127.0.0.1:\(echo.port)") }) { break }
        }
        _ = try await cluster.memberLog.wait(for: "member=guest", "host refused UDP to 127.0.0.1:\(echo.port)", "not in host's allow list")
        XCTAssertEqual(echo.count, reached, "nothing more reached the target")
    }

    /// 300 local programs on each of two forwards to the same host: the
    /// host keeps sockets for `udpFlowLimit` of them and refuses the rest,
    /// telling the guest; a forward with more programs than the limit ends
    /// its flow idle longest for each new one.
    func testFlowsArePerPeerAndPerForwardBounded() async throws {
        let limit = PeerSession.udpFlowLimit
        let echoes = try [UDPEchoServer(), UDPEchoServer()]
        defer { echoes.forEach { $0.stop() } }
        let host = try await cluster.member("host", mode: .create, allow: echoes.map { "\($0.port)/udp" })
        let guest = try await cluster.member("guest")
        var ports: [Int] = []
        for echo in echoes { ports.append(try await cluster.addForward(on: guest, udpForward(to: echo.port)).get()) }
        let perForward = limit / 2 + 44
        let clients = try (0..<(2 * perForward)).map { _ in try UDPSocket(timeoutMilliseconds: 200) }
        defer { clients.forEach { $0.close() } }
        for (index, client) in clients.enumerated() { try client.send([UInt8(index & 0xFF)], to: ports[index % 2]) }

        let hostFlows = try await waitForFlows(on: host) { $0.count >= limit }
        XCTAssertEqual(hostFlows.count, limit, "the host keeps at most \(limit) flows from one peer")
        _ = try await cluster.memberLog.wait(for: "member=host", "refused UDP flow from guest", "the most p22p keeps per peer")
        _ = try await cluster.memberLog.wait(for: "member=guest", "host refused UDP to", "the most it keeps")

        // One forward alone with more programs than the limit: the oldest flows make room.
        let extra = try (0..<(limit + 8 - perForward)).map { _ in try UDPSocket(timeoutMilliseconds: 200) }
        defer { extra.forEach { $0.close() } }
        for client in extra { try client.send([1], to: ports[0]) }
        _ = try await cluster.memberLog.wait(for: "member=guest", "UDP flows open, the most it keeps")
        let guestFlows = try await guest.flows().get()
        let onFirst = guestFlows.filter { $0.target.port == echoes[0].port }.count
        XCTAssertLessThanOrEqual(onFirst, limit, "a forward keeps at most \(limit) flows")
    }
}
