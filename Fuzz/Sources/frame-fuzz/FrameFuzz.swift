import NIOCore
import P22PTransport
import P22PWire

/// Feeds arbitrary bytes to every decoder a relay or member runs on network
/// input. Decoders may throw; they must never crash, hang or allocate
/// without bound. Whatever decodes must encode back to a form that decodes
/// to the same value. The WebSocket frame parser must reach the same messages
/// (or the same error) whether the bytes come in one read or in pieces, and
/// so must the tcp:// stream framing and its preamble.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))

    if let frame = try? Frame.decode(buffer) {
        let again = try? Frame.decode(frame.encoded())
        precondition(again == frame, "frame did not survive a round trip")
        if case .relayed(_, let payload) = frame, let peerFrame = try? PeerFrame.decode(payload),
           case .sealed(let header, let body) = peerFrame {
            _ = try? StreamMessage.decode(kind: header.kind, body: body)
        }
    }
    _ = try? PeerFrame.decode(buffer)
    if size > 0, let kind = StreamMessageKind(rawValue: data[0] % 16) {
        if let message = try? StreamMessage.decode(kind: kind, body: buffer.getSlice(at: 1, length: size - 1)!) {
            var body = ByteBuffer()
            message.encodeBody(into: &body)
            precondition((try? StreamMessage.decode(kind: kind, body: body)) == message, "stream message did not survive a round trip")
        }
    }
    if size > 1 {
        let role: WebSocketRole = data[0] & 1 == 0 ? .client : .server
        let wire = buffer.getSlice(at: 1, length: size - 1)!
        let step = Int(data[0] >> 1) + 1
        let whole = parseWebSocket(wire, role: role, cuts: [])
        let pieces = parseWebSocket(wire, role: role, cuts: Array(stride(from: step, to: size - 1, by: step)))
        precondition(whole == pieces, "WebSocket parsing depends on how the bytes were cut: \(whole) vs \(pieces)")

        let streamWhole = parseStream(wire, cuts: [])
        let streamPieces = parseStream(wire, cuts: Array(stride(from: step, to: size - 1, by: step)))
        precondition(streamWhole == streamPieces, "stream parsing depends on how the bytes were cut: \(streamWhole) vs \(streamPieces)")
    }
    if case .routingKey(let key) = StreamFraming.parsePreamble(buffer) {
        precondition(StreamFraming.preamble(routingKey: key) == Array(buffer.readableBytesView.prefix(StreamFraming.preambleSize)),
                     "a preamble did not survive a round trip")
    }
    return 0
}

/// Messages (opcode, payload) and the error, if any, of a WebSocket parser
/// fed `wire` cut at `cuts`.
private func parseWebSocket(_ wire: ByteBuffer, role: WebSocketRole, cuts: [Int]) -> [String] {
    var parser = WebSocketFrameParser(role: role, maxMessageSize: 1024)
    return parse(wire, cuts: cuts) { try parser.parse($0, allocator: ByteBufferAllocator(), emit: $1) }
}

/// The same for the stream framing of tcp:// links.
private func parseStream(_ wire: ByteBuffer, cuts: [Int]) -> [String] {
    var parser = StreamFrameParser(maxMessageSize: 1024)
    return parse(wire, cuts: cuts) { try parser.parse($0, allocator: ByteBufferAllocator(), emit: $1) }
}

private func parse(_ wire: ByteBuffer, cuts: [Int],
                   feed: (ByteBuffer, WebSocketFrameParser.Emit) throws -> Void) -> [String] {
    var seen: [String] = []
    var start = 0
    for end in cuts + [wire.readableBytes] {
        do {
            try feed(wire.getSlice(at: wire.readerIndex + start, length: end - start)!) {
                seen.append("\($0) \(Array($1.readableBytesView))")
            }
        } catch {
            seen.append("error \(error)")
            break
        }
        start = end
    }
    return seen
}
