import Foundation
import NIOCore
import P22PClient
import P22PCrypto
import P22PWire

/// A deliberately minimal WebSocket client over a blocking socket, for saying
/// things to the relay that the real client never would.
final class RawWebSocket {
    let connection: TCPConnection

    private init(connection: TCPConnection) { self.connection = connection }

    /// Connects and performs the upgrade for `group`'s routing path.
    static func open(port: Int, group: String = "demo", subprotocol: String = "p22p.v1") throws -> (RawWebSocket, String) {
        let connection = try TCPConnection.connect(port: port, timeoutSeconds: 10)
        let request = "GET \(RoutingKey.path(forGroup: group)) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: \(subprotocol)\r\n\r\n"
        try connection.send(Array(request.utf8))
        var response: [UInt8] = []
        while !response.ends(with: Array("\r\n\r\n".utf8)) {
            let byte = try connection.receive(max: 1)
            guard !byte.isEmpty else { break }
            response += byte
        }
        return (RawWebSocket(connection: connection), String(decoding: response, as: UTF8.self))
    }

    /// Sends one masked frame, as a client must.
    func send(opcode: UInt8 = 0x2, _ payload: [UInt8], fin: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * UInt64($0))) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try connection.send(frame)
    }

    /// Reads one server frame's payload (servers do not mask).
    func receiveFrame() throws -> [UInt8] {
        let header = try connection.receive(exactly: 2)
        var length = Int(header[1] & 0x7F)
        if length == 126 {
            let extended = try connection.receive(exactly: 2)
            length = Int(extended[0]) << 8 | Int(extended[1])
        } else if length == 127 {
            length = try connection.receive(exactly: 8).reduce(0) { $0 << 8 | Int($1) }
        }
        return length > 0 ? try connection.receive(exactly: length) : []
    }

    /// Joins `group` as a real member would, then does whatever the test wants.
    func join(group: String, name: String, keyring: GroupKeyring, identity: MemberIdentity = MemberIdentity()) throws {
        guard case .control(.hello(_, let challenge, _, let derivation?)) = try Frame.decode(ByteBuffer(bytes: try receiveFrame())) else {
            throw SocketError("no hello with the group's salt")
        }
        var request = AuthRequest(group: group, name: name, memberKey: identity.publicKey)
        try keyring.secrets(for: derivation).sign(&request, challenge: challenge, identity: identity)
        try send(Array(Frame.control(.join(request)).encoded().readableBytesView))
        guard case .control(.welcome) = try Frame.decode(ByteBuffer(bytes: try receiveFrame())) else {
            throw SocketError("not welcomed")
        }
    }

    /// Reads server frames until the connection ends; returns the close
    /// frame's reason if one came. Throws if the relay keeps it open.
    func waitForClose(seconds: Int = 10) throws -> String? {
        connection.setTimeout(seconds: seconds)
        var reason: String?
        while true {
            let header: [UInt8]
            do {
                header = try connection.receive(exactly: 2)
            } catch let error as SocketError where error.description.hasPrefix("EOF") || error.description == "reset" {
                return reason
            }
            var length = Int(header[1] & 0x7F)
            if length == 126 {
                let extended = try connection.receive(exactly: 2)
                length = Int(extended[0]) << 8 | Int(extended[1])
            } else if length == 127 {
                let extended = try connection.receive(exactly: 8)
                length = extended.reduce(0) { $0 << 8 | Int($1) }
            }
            let payload = length > 0 ? try connection.receive(exactly: length) : []
            if header[0] & 0x0F == 0x8 {
                reason = String(decoding: payload.dropFirst(2), as: UTF8.self)
            }
        }
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
