import NIOCore
import NIOWebSocket
import P22PTransport
import P22PWire

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
    /// "tcp" or "tls", for log lines.
    private let scheme: String
    private let install: (Channel, String) throws -> Void
    /// Less than one preamble: anything longer is judged.
    private var pending: ByteBuffer?
    private var done = false

    init(origin: ConnectionOrigin, scheme: String, install: @escaping (Channel, String) throws -> Void) {
        self.origin = origin
        self.scheme = scheme
        self.install = install
    }

    /// Before the preamble (a failed TLS handshake, a reset): one line, as
    /// the WebSocket port's gate gives.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !done else { return context.fireErrorCaught(error) }
        done = true
        origin.logger.notice("closing connection", metadata: ["reason": "before the \(scheme):// preamble: \(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        var bytes = pending.take(followedBy: unwrapInboundIn(data))
        switch StreamFraming.parsePreamble(bytes) {
        case .needMoreData:
            pending = bytes
        case .invalid:
            done = true
            let start = String(decoding: bytes.readableBytesView.prefix(24).map { (32..<127).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
            if bytes.readableBytesView.starts(with: Array("GET ".utf8)) {
                // A WebSocket member on the wrong port: an HTTP answer it can show.
                origin.logger.notice("closing connection", metadata: ["reason": "a WebSocket request on the \(scheme):// port: it began with \"\(start)\" (WebSockets go to the --listen port)"])
                let text = "p22p relay: this port takes \(scheme):// members; WebSockets go to the relay's --listen port\n"
                let response = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n" + text
                let channel = context.channel
                context.writeAndFlush(NIOAny(channel.allocator.buffer(string: response))).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            guard StreamFraming.looksLikeOtherVersion(bytes) else {
                origin.logger.notice("closing connection", metadata: ["reason": "not a p22p member on the \(scheme):// port: it began with \"\(start)\" (members connect with \(scheme)://HOST:PORT; WebSockets go to the --listen port)"])
                context.close(promise: nil)
                return
            }
            // Another version of p22p: tell it why, in a frame it can read.
            let reason = "this relay speaks \(ProtocolVersion.subprotocol); upgrade the older of the two"
            origin.logger.notice("closing connection", metadata: ["reason": "a member speaking another protocol version: it began with \"\(start)\""])
            var close = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
            close.write(webSocketErrorCode: .protocolError)
            close.writeString(reason)
            LinkFramer.stream.frame(&close, opcode: .connectionClose)
            let channel = context.channel
            context.writeAndFlush(NIOAny(close)).whenComplete { _ in channel.close(promise: nil) }
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
