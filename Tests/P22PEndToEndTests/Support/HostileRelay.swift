import Foundation
import NIOConcurrencyHelpers
import NIOCore
import P22PWire

/// A man in the middle on members' WebSockets to a real relay: it passes the
/// HTTP upgrade through, then hands every binary message, in either
/// direction, to the test's rule, which may pass, drop, rewrite, duplicate,
/// hold back or forge any of them. That is everything a hostile relay (or
/// anyone on a ws:// path) can do to the member behind it.
final class HostileRelay: @unchecked Sendable {  // all `let`: a listener and the rule; links lock their own writes
    enum Direction: Sendable, Equatable {
        /// From the relay to the member.
        case toMember
        /// From the member to the relay.
        case toRelay
    }

    /// What the rule sees: one whole binary message, and the link it is on
    /// (to forge messages in the other direction, or to cut the link).
    typealias Rule = @Sendable (_ direction: Direction, _ message: [UInt8], _ link: Link) -> [[UInt8]]

    let port: Int
    private let server: TCPTestServer

    init(relayPort: Int, rule: @escaping Rule) throws {
        server = try TCPTestServer { member in
            guard let relay = try? TCPConnection.connect(port: relayPort) else { return member.close() }
            let link = Link(member: member, relay: relay)
            Thread { link.pump(from: relay, direction: .toMember, rule: rule) }.start()
            link.pump(from: member, direction: .toRelay, rule: rule)
        }
        port = server.port
    }

    var url: String { "ws://127.0.0.1:\(port)" }

    func stop() { server.stop() }

    /// One member's connection through the proxy.
    final class Link: @unchecked Sendable {  // writes to each socket are under that socket's lock
        private let member: TCPConnection
        private let relay: TCPConnection
        private let memberLock = NIOLock()
        private let relayLock = NIOLock()
        private let closed = NIOLockedValueBox(false)

        init(member: TCPConnection, relay: TCPConnection) {
            self.member = member
            self.relay = relay
        }

        /// Sends a binary message as if it came from the other side.
        func inject(_ message: [UInt8], _ direction: Direction) {
            write(Self.frame(opcode: 0x2, message, masked: direction == .toRelay), direction)
        }

        /// Ends both TCP connections, as a relay that hangs up does.
        func cut() {
            guard closed.withLockedValue({ done in defer { done = true }; return !done }) else { return }
            shutdown(member.fd, Int32(SHUT_RDWR))
            shutdown(relay.fd, Int32(SHUT_RDWR))
        }

        private func write(_ bytes: [UInt8], _ direction: Direction) {
            switch direction {
            case .toMember: memberLock.withLock { try? member.send(bytes) }
            case .toRelay: relayLock.withLock { try? relay.send(bytes) }
            }
        }

        /// Copies the HTTP head verbatim, then parses WebSocket frames and
        /// lets the rule decide about every unfragmented binary message;
        /// control frames (ping, pong, close) pass as they are.
        func pump(from source: TCPConnection, direction: Direction, rule: Rule) {
            defer { cut() }
            var pending: [UInt8] = []
            var inHead = true
            while let chunk = try? source.receive(), !chunk.isEmpty {
                pending += chunk
                if inHead {
                    guard let end = Self.endOfHead(pending) else { continue }
                    write(Array(pending[..<end]), direction)
                    pending.removeFirst(end)
                    inHead = false
                }
                while let (frame, size) = Self.parseFrame(pending) {
                    pending.removeFirst(size)
                    if frame.opcode == 0x2, frame.fin {
                        for out in rule(direction, frame.payload, self) {
                            write(Self.frame(opcode: 0x2, out, masked: direction == .toRelay), direction)
                        }
                    } else {
                        write(frame.raw, direction)
                    }
                }
            }
        }

        private static func endOfHead(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                return index + 4
            }
            return nil
        }

        private struct ParsedFrame {
            let fin: Bool
            let opcode: UInt8
            let payload: [UInt8]
            let raw: [UInt8]
        }

        private static func parseFrame(_ bytes: [UInt8]) -> (ParsedFrame, Int)? {
            guard bytes.count >= 2 else { return nil }
            let fin = bytes[0] & 0x80 != 0
            let opcode = bytes[0] & 0x0F
            let masked = bytes[1] & 0x80 != 0
            var length = Int(bytes[1] & 0x7F)
            var index = 2
            if length == 126 {
                guard bytes.count >= 4 else { return nil }
                length = Int(bytes[2]) << 8 | Int(bytes[3])
                index = 4
            } else if length == 127 {
                guard bytes.count >= 10 else { return nil }
                length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[$1]) }
                index = 10
            }
            var mask: [UInt8] = []
            if masked {
                guard bytes.count >= index + 4 else { return nil }
                mask = Array(bytes[index..<index + 4])
                index += 4
            }
            guard bytes.count >= index + length else { return nil }
            var payload = Array(bytes[index..<index + length])
            if masked { for offset in payload.indices { payload[offset] ^= mask[offset % 4] } }
            return (ParsedFrame(fin: fin, opcode: opcode, payload: payload, raw: Array(bytes[..<(index + length)])), index + length)
        }

        static func frame(opcode: UInt8, _ payload: [UInt8], masked: Bool) -> [UInt8] {
            var out: [UInt8] = [0x80 | opcode]
            let maskBit: UInt8 = masked ? 0x80 : 0
            if payload.count < 126 {
                out.append(maskBit | UInt8(payload.count))
            } else if payload.count <= 0xFFFF {
                out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
            } else {
                out.append(maskBit | 127)
                out += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
            }
            guard masked else { return out + payload }
            let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
            return out + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        }
    }
}

/// Reading and writing the messages a rule sees.
enum Wire {
    static func frame(_ message: [UInt8]) -> Frame? { try? Frame.decode(ByteBuffer(bytes: message)) }

    static func bytes(_ frame: Frame) -> [UInt8] { Array(frame.encoded().readableBytesView) }

    /// A relayed sealed frame made to claim another peer, stream or counter:
    /// the clear parts a relay can rewrite without the keys.
    static func retargeted(_ message: [UInt8], cid: CID? = nil, stream: UInt32? = nil, counter: UInt64? = nil) -> [UInt8] {
        var buffer = ByteBuffer(bytes: message)
        if let cid { buffer.setInteger(cid.rawValue, at: 1) }
        // After the relayed header (3 bytes): peer frame kind, message kind, stream, counter.
        if let stream { buffer.setInteger(stream, at: Frame.relayedHeaderSize + 2) }
        if let counter { buffer.setInteger(counter, at: Frame.relayedHeaderSize + 6) }
        return Array(buffer.readableBytesView)
    }

    /// A relayed frame's peer CID and its sealed header, if it has one.
    static func sealed(_ message: [UInt8]) -> (cid: CID, header: SealedHeader)? {
        guard case .relayed(let cid, let payload)? = frame(message),
              case .sealed(let header, _)? = try? PeerFrame.decode(payload) else { return nil }
        return (cid, header)
    }
}
