import NIOCore

/// The first handler of every connection, before TLS and HTTP: takes a
/// PROXY header off the front of the stream if there is one, and removes
/// itself. Only a trusted proxy may send one; from anyone else, or broken,
/// the connection is closed with a notice. A connection that does not start
/// with a header passes on untouched, usually after its first byte.
final class ProxyHeaderReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let origin: ConnectionOrigin
    /// What arrived while it could still be the start of a header: at most
    /// a v2 header (16 + 65535 bytes) plus one read.
    private var pending: ByteBuffer?
    private var done = false

    init(origin: ConnectionOrigin) { self.origin = origin }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        var bytes = pending.take(followedBy: unwrapInboundIn(data))
        switch ProxyProtocolHeader.parse(bytes) {
        case .needMoreData:
            pending = bytes
        case .absent:
            finish(context: context, passing: bytes)
        case .header(let header, let length):
            guard origin.fromTrustedProxy else {
                return refuse(context: context, "a PROXY header from \(origin.clientAddress), which is not a trusted proxy (--trusted-proxy)")
            }
            guard origin.proxied(header) else {
                done = true
                context.close(promise: nil)
                return
            }
            bytes.moveReaderIndex(forwardBy: length)
            finish(context: context, passing: bytes)
        case .invalid(let reason):
            refuse(context: context, origin.fromTrustedProxy ? reason : "\(reason), from \(origin.clientAddress), which is not a trusted proxy")
        }
    }

    private func finish(context: ChannelHandlerContext, passing rest: ByteBuffer) {
        done = true
        if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func refuse(context: ChannelHandlerContext, _ reason: String) {
        done = true
        origin.logger.notice("closing connection", metadata: ["reason": "\(reason)"])
        context.close(promise: nil)
    }
}
