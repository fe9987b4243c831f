import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import P22PTransport

/// The relay: accepts WebSocket connections, admits members into groups and
/// routes their frames. Start it with `start`, stop it with `shutdown`.
public final class RelayServer: Sendable {
    public let configuration: RelayConfiguration
    public let stats = RelayStats()
    /// Where the relay listens (useful with port 0).
    public let localAddress: SocketAddress
    private let channel: Channel
    private let ownedGroup: MultiThreadedEventLoopGroup?
    private let registry: GroupRegistry

    private init(configuration: RelayConfiguration, channel: Channel, registry: GroupRegistry, ownedGroup: MultiThreadedEventLoopGroup?) {
        self.configuration = configuration
        self.channel = channel
        self.localAddress = channel.localAddress!
        self.registry = registry
        self.ownedGroup = ownedGroup
    }

    public var groupCount: Int { registry.count }

    public static func start(
        configuration: RelayConfiguration, eventLoopGroup: EventLoopGroup? = nil, logger: Logger
    ) async throws -> RelayServer {
        let owned = eventLoopGroup == nil ? MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads)) : nil
        let group = eventLoopGroup ?? owned!
        let registry = GroupRegistry()
        let statsBox = StatsBox()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                Self.initialize(channel: channel, registry: registry, configuration: configuration,
                                stats: statsBox.stats, logger: logger)
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            try? await owned?.shutdownGracefully()
            throw error
        }
        let server = RelayServer(configuration: configuration, channel: channel, registry: registry, ownedGroup: owned)
        statsBox.stats = server.stats
        logger.info("relay listening", metadata: ["address": "\(server.localAddress)"])
        return server
    }

    private static func initialize(
        channel: Channel, registry: GroupRegistry, configuration: RelayConfiguration, stats: RelayStats?, logger: Logger
    ) -> EventLoopFuture<Void> {
        guard let stats else { return channel.close() }
        var logger = logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress.map { "\($0)" } ?? "?")"
        let connectionLogger = logger
        let authDeadline = channel.eventLoop.scheduleTask(in: configuration.authTimeout) {
            connectionLogger.notice("closing connection", metadata: ["reason": "no successful create or join within \(configuration.authTimeout.nanoseconds / 1_000_000_000) s"])
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in authDeadline.cancel() }
        let gate = HTTPGate(logger: logger)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: configuration.maxFrameSize,
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                guard WebSocketGate.routingKey(in: head.uri) != nil, WebSocketGate.offersSubprotocol(head.headers) else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders([("Sec-WebSocket-Protocol", "p22p.v1")]))
            },
            upgradePipelineHandler: { channel, head in
                let connection = RelayConnectionHandler(
                    registry: registry, configuration: configuration, stats: stats,
                    routingKey: WebSocketGate.routingKey(in: head.uri) ?? "",
                    authDeadline: authDeadline, logger: connectionLogger)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64,
                            maxAccumulatedFrameSize: configuration.maxFrameSize),
                        WebSocketMessageHandler(role: .server, keepalive: configuration.keepalive),
                        connection,
                    ])
                }
            })
        return channel.pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                context.pipeline.removeHandler(gate, promise: nil)
            }),
            withErrorHandling: true
        ).flatMapThrowing {
            try channel.pipeline.syncOperations.addHandler(gate)
        }
    }

    /// Stops accepting and closes every member connection.
    public func shutdown() async throws {
        try? await channel.close()
        if let ownedGroup { try await ownedGroup.shutdownGracefully() }
    }
}

/// Lets channel initializers created before the server object reach its stats.
private final class StatsBox: @unchecked Sendable {
    var stats: RelayStats? = RelayStats()
}
