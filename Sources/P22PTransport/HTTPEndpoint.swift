import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP server for people and their tools: a fixed set of GET paths,
/// each answered by a function of the moment (a metrics scrape, a status
/// document). The relay serves /metrics and /healthz with it, p22p-up its
/// status page. Separate from member traffic so it can stay private.
public final class HTTPEndpoint: Sendable {
    /// An answer: its content type and body.
    public struct Response: Sendable {
        public var contentType: String
        public var body: [UInt8]

        public init(contentType: String, body: [UInt8]) {
            self.contentType = contentType
            self.body = body
        }

        public static func text(_ text: String) -> Response { Response(contentType: "text/plain; charset=utf-8", body: Array(text.utf8)) }
    }

    /// Answers one path, on the connection's event loop.
    public typealias Route = @Sendable (EventLoop) -> EventLoopFuture<Response>

    public let localAddress: SocketAddress?
    private let channel: Channel

    private init(channel: Channel) {
        self.channel = channel
        self.localAddress = channel.localAddress
    }

    /// `localOnly`: answer only requests whose Host is a loopback address or
    /// localhost, so a web page cannot read the answers by pointing a name of
    /// its own at 127.0.0.1 (DNS rebinding).
    public static func start(host: String, port: Int, on group: EventLoopGroup, localOnly: Bool = false,
                             routes: [String: Route]) async throws -> HTTPEndpoint {
        HTTPEndpoint(channel: try await bootstrap(group, routes, localOnly: localOnly).bind(host: host, port: port).get())
    }

    /// On a Unix socket at `path`, which must not exist (the caller removes a
    /// stale one).
    public static func start(unixSocket path: String, on group: EventLoopGroup, routes: [String: Route]) async throws -> HTTPEndpoint {
        HTTPEndpoint(channel: try await bootstrap(group, routes, localOnly: false).bind(unixDomainSocketPath: path).get())
    }

    private static func bootstrap(_ group: EventLoopGroup, _ routes: [String: Route], localOnly: Bool) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(HTTPRouteHandler(routes: routes, localOnly: localOnly))
                }
            }
    }

    public func close() async {
        try? await channel.close()
    }
}

private final class HTTPRouteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: [String: HTTPEndpoint.Route]
    private let localOnly: Bool
    private var head: HTTPRequestHead?

    init(routes: [String: HTTPEndpoint.Route], localOnly: Bool) {
        self.routes = routes
        self.localOnly = localOnly
    }

    /// localhost, 127.x.x.x or [::1], with or without a port; no Host at all
    /// (HTTP/1.0 tools) is a local tool too.
    static func isLocal(host header: String?) -> Bool {
        guard let header else { return true }
        var name = header.lowercased()
        if name.hasPrefix("[") {
            name = String(name.dropFirst().prefix { $0 != "]" })
        } else if let colon = name.lastIndex(of: ":") {
            name = String(name[..<colon])
        }
        return name == "localhost" || name == "::1" || name.hasPrefix("127.")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            // The path without a query: a browser may add one to dodge caches.
            let path = String(head.uri.prefix { $0 != "?" })
            if localOnly, !Self.isLocal(host: head.headers.first(name: "Host")) {
                return respond(.forbidden, .text("this endpoint answers only requests for localhost\n"), to: head, context: context)
            }
            guard head.method == .GET || head.method == .HEAD, let route = routes[path] else {
                let known = routes.keys.sorted().joined(separator: ", ")
                return respond(.notFound, .text("nothing at \(path); try \(known)\n"), to: head, context: context)
            }
            route(context.eventLoop).assumeIsolated().whenComplete { result in
                switch result {
                case .success(let response): self.respond(.ok, response, to: head, context: context)
                case .failure(let error): self.respond(.internalServerError, .text("\(error)\n"), to: head, context: context)
                }
            }
        }
    }

    private func respond(_ status: HTTPResponseStatus, _ response: HTTPEndpoint.Response, to head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Cache-Control", value: "no-store")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !head.isKeepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}
