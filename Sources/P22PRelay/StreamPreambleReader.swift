import NIOCore
import P22PTransport

/// The first handler of a tcp:// or tls:// member's link, after any PROXY
/// header and TLS: reads the preamble that names the group's routing key
/// (`StreamFraming`), then replaces itself with the link's handlers and
/// passes on whatever followed the preamble in the same read. Anything that
/// is not a preamble (a browser, a port scanner, a WebSocket client on the
/// wrong port) is closed with one line in the log.
final class StreamPreambleReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let origin: ConnectionOrigin
    private let install: (Channel, String) throws -> Void
    /// At most one preamble's worth plus one read.
    private var pending: ByteBuffer?
    private var done = false

    init(origin: ConnectionOrigin, install: @escaping (Channel, String) throws -> Void) {
        self.origin = origin
        self.install = install
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        var bytes = unwrapInboundIn(data)
        if var pending {
            pending.writeBuffer(&bytes)
            bytes = pending
            self.pending = nil
        }
        switch StreamFraming.parsePreamble(bytes) {
        case .needMoreData:
            pending = bytes
        case .invalid:
            done = true
            let start = String(decoding: bytes.readableBytesView.prefix(24).map { (32..<127).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
            origin.logger.notice("closing connection", metadata: ["reason": "not a p22p member on the tcp:// port: it began with \"\(start)\" (members connect with tcp://HOST:PORT; WebSockets go to the --listen port)"])
            context.close(promise: nil)
        case .routingKey(let key):
            done = true
            guard origin.upgrading(forwardedFor: []) else {
                context.close(promise: nil)
                return
            }
            bytes.moveReaderIndex(forwardBy: StreamFraming.preambleSize)
            do {
                try install(context.channel, key)
            } catch {
                origin.logger.notice("closing connection", metadata: ["reason": "cannot set up the link: \(error)"])
                context.close(promise: nil)
                return
            }
            if bytes.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(bytes)) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
