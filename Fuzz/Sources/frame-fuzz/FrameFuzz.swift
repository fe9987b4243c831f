import NIOCore
import P22PWire

/// Feeds arbitrary bytes to every decoder a relay or member runs on network
/// input. Decoders may throw; they must never crash, hang or allocate
/// without bound. Whatever decodes must encode back to a form that decodes
/// to the same value.
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
    if size > 0, let kind = StreamMessageKind(rawValue: data[0] % 10) {
        if let message = try? StreamMessage.decode(kind: kind, body: buffer.getSlice(at: 1, length: size - 1)!) {
            var body = ByteBuffer()
            message.encodeBody(into: &body)
            precondition((try? StreamMessage.decode(kind: kind, body: body)) == message, "stream message did not survive a round trip")
        }
    }
    return 0
}
