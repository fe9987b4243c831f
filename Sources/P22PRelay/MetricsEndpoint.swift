import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP server for operators: GET /metrics (Prometheus text format,
/// rendered by the caller) and GET /healthz. Separate from the relay's own
/// port so it can stay on a private address.
public final class MetricsEndpoint: Sendable {
    public let localAddress: SocketAddress
    private let channel: Channel

    private init(channel: Channel) {
        self.channel = channel
        self.localAddress = channel.localAddress!
    }

    public static func start(host: String, port: Int, on group: EventLoopGroup,
                             render: @escaping @Sendable () -> [UInt8]) async throws -> MetricsEndpoint {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsEndpoint(channel: channel)
    }

    public func close() async {
        try? await channel.close()
    }
}

private final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> [UInt8]
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> [UInt8]) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let (status, type, body): (HTTPResponseStatus, String, [UInt8])
            switch (head.method, head.uri) {
            case (.GET, "/metrics"): (status, type, body) = (.ok, "text/plain; version=0.0.4", render())
            case (.GET, "/healthz"): (status, type, body) = (.ok, "text/plain", Array("ok\n".utf8))
            default: (status, type, body) = (.notFound, "text/plain", Array("try /metrics or /healthz\n".utf8))
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: "\(body.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !head.isKeepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        }
    }
}
