import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Answers every HTTP request that is not a valid p22p upgrade with a short
/// plain-text reason, and logs HTTP-level garbage before closing. Removed from
/// the pipeline once the upgrade succeeds.
final class HTTPGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let origin: ConnectionOrigin
    private var answered = false

    init(origin: ConnectionOrigin) { self.origin = origin }

    /// Read when logging: a PROXY header may have named the client since.
    private var logger: Logger { origin.logger }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Not active: refused at the upgrade for its address's connection limit.
        guard case .head(let head) = unwrapInboundIn(data), !answered, context.channel.isActive else { return }
        answered = true
        let (status, text) = Self.rejection(for: head)
        logger.info("refused HTTP request", metadata: ["uri": "\(head.uri)", "status": "\(status.code)"])
        var body = context.channel.allocator.buffer(capacity: text.utf8.count + 1)
        body.writeString(text + "\n")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A refused upgrade is reported as an error and then passed on as a
        // plain request, which `channelRead` answers with the reason.
        if error is NIOWebSocketUpgradeError { return }
        logger.notice("closing connection", metadata: ["reason": "bad HTTP before the WebSocket handshake: \(error)"])
        context.close(promise: nil)
    }

    static func rejection(for head: HTTPRequestHead) -> (HTTPResponseStatus, String) {
        if WebSocketGate.routingKey(in: head.uri) == nil {
            return (.notFound, "p22p relay: no such path; clients connect to /v1/<routing key>")
        }
        if !WebSocketGate.offersSubprotocol(head.headers) {
            return (.badRequest, "p22p relay: this relay speaks WebSocket subprotocol p22p.v1; upgrade the client")
        }
        return (.badRequest, "p22p relay: expected a WebSocket upgrade")
    }
}

/// The checks that decide whether an upgrade request is one of ours.
enum WebSocketGate {
    /// The routing key in `/v1/<16 hex digits>`, or nil for any other path.
    static func routingKey(in uri: String) -> String? {
        guard uri.hasPrefix("/v1/") else { return nil }
        let key = uri.dropFirst(4)
        guard key.count == 16, key.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return String(key)
    }

    static func offersSubprotocol(_ headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "Sec-WebSocket-Protocol"].contains { $0 == "p22p.v1" }
    }
}
