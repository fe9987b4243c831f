import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import P22PTransport
import P22PWire

/// The relay: accepts members' links (WebSockets, and tcp:// or tls://
/// streams on `streamListeners`), admits members into groups and routes
/// their frames. Start it with `start`, stop it with `shutdown`.
public final class RelayServer: Sendable {
    public let configuration: RelayConfiguration
    public let stats: RelayStats
    /// Where the relay listens for WebSockets (useful with port 0).
    public let localAddress: SocketAddress
    /// Where it listens for tcp:// or tls:// members, in the configured order.
    public let streamAddresses: [SocketAddress]
    private let channel: Channel
    private let streamChannels: [Channel]
    private let ownedGroup: MultiThreadedEventLoopGroup?
    private let shared: Shared
    private let logger: Logger

    /// What every connection's handlers share.
    struct Shared: Sendable {
        let registry = GroupRegistry()
        let stats = RelayStats()
        let connections = ConnectionSet()
        let joinLimiter: AddressRateLimiter
        let reserveLimiter: AddressRateLimiter
        let limits: AddressLimits
        let reservations: any ReservationStore
        let configuration: RelayConfiguration
        let tls: NIOSSLContext?
    }

    private init(shared: Shared, channel: Channel, streamChannels: [Channel], ownedGroup: MultiThreadedEventLoopGroup?, logger: Logger) {
        self.configuration = shared.configuration
        self.stats = shared.stats
        self.shared = shared
        self.channel = channel
        self.localAddress = channel.localAddress!
        self.streamChannels = streamChannels
        self.streamAddresses = streamChannels.map { $0.localAddress! }
        self.ownedGroup = ownedGroup
        self.logger = logger
    }

    public var groupCount: Int { shared.registry.count }

    /// Brings the gauges up to date; called before each scrape.
    public func refreshGauges() {
        let metrics = stats.metrics
        metrics.connections.record(stats.openConnections)
        metrics.groups.record(shared.registry.count)
        metrics.members.record(shared.registry.memberCount)
        metrics.bufferedBytes.record(stats.bufferedBytes)
        metrics.reservations.record(shared.reservations.count)
    }

    /// `reservations` is where reservations are kept when several relays
    /// share them; without one they live in `configuration.stateDirectory`.
    public static func start(
        configuration: RelayConfiguration, reservations shared: (any ReservationStore)? = nil,
        eventLoopGroup: EventLoopGroup? = nil, logger: Logger
    ) async throws -> RelayServer {
        let tls = try configuration.tls.map { try $0.makeContext() }
        let reservations: any ReservationStore
        do {
            reservations = try shared ?? FileReservationStore(directory: configuration.stateDirectory)
        } catch {
            throw RelayStartError("cannot use the state directory \(configuration.stateDirectory ?? ""): \(error)")
        }
        let shared = Shared(joinLimiter: AddressRateLimiter(limit: configuration.failedJoinsPerMinute, window: .seconds(60), capacity: configuration.addressTableSize),
                            reserveLimiter: AddressRateLimiter(limit: configuration.reservationsPerHour, window: .seconds(3600), capacity: configuration.addressTableSize),
                            limits: AddressLimits(configuration: configuration),
                            reservations: reservations, configuration: configuration, tls: tls)
        let owned = eventLoopGroup == nil ? MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads)) : nil
        let group = eventLoopGroup ?? owned!
        func bootstrap(_ initialize: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> ServerBootstrap {
            ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                // 4 reads of up to 256 KiB per cycle: what a paused sender's last
                // cycle can still bring in is bounded (RelayConnectionHandler).
                .childChannelOption(.maxMessagesPerRead, value: 4)
                .childChannelOption(.recvAllocator, value: LinkReads.allocator)
                .childChannelInitializer(initialize)
        }
        var bound: [Channel] = []
        do {
            bound.append(try await bootstrap { initializeWebSocket(channel: $0, shared: shared, logger: logger) }
                .bind(host: configuration.host, port: configuration.port).get())
            for address in configuration.streamListeners {
                do {
                    bound.append(try await bootstrap { initializeStream(channel: $0, shared: shared, logger: logger) }
                        .bind(host: address.host, port: address.port).get())
                } catch {
                    throw RelayStartError("cannot listen for \(streamScheme(configuration)):// members on \(readableAddress(host: address.host, port: address.port)): \(describeSocketError(error))")
                }
            }
        } catch {
            for channel in bound { try? await channel.close() }
            try? await owned?.shutdownGracefully()
            throw error
        }
        let server = RelayServer(shared: shared, channel: bound[0], streamChannels: Array(bound.dropFirst()), ownedGroup: owned, logger: logger)
        if let certificate = configuration.tls?.certificateFile { logger.info("serving wss:// with \(certificate)") }
        logger.info("relay listening", metadata: ["address": "\(server.localAddress.readable)"])
        for address in server.streamAddresses {
            logger.info("relay listening for \(streamScheme(configuration)):// members", metadata: ["address": "\(address.readable)"])
        }
        return server
    }

    /// What members write for the stream listeners: TLS there too with a certificate.
    private static func streamScheme(_ configuration: RelayConfiguration) -> String {
        configuration.tls == nil ? "tcp" : "tls"
    }

    /// What every connection gets first, whatever it speaks: its origin
    /// (the TCP peer, or whom a trusted proxy names), the per-address limit,
    /// the deadline to join, and a PROXY header reader; then TLS if served.
    /// Nil if the connection is refused.
    private static func accept(channel: Channel, shared: Shared, logger: Logger) throws -> (NIOLoopBound<ConnectionOrigin>, Scheduled<Void>)? {
        let configuration = shared.configuration
        var logger = logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress?.readable ?? "?")"
        let origin = NIOLoopBound(ConnectionOrigin(channel: channel, limits: shared.limits, metrics: shared.stats.metrics, logger: logger),
                                  eventLoop: channel.eventLoop)
        guard origin.value.accepted() else { return nil }
        shared.connections.add(channel)
        let authDeadline = channel.eventLoop.scheduleTask(in: configuration.authTimeout) {
            origin.value.logger.notice("closing connection", metadata: ["reason": "no successful create or join within \(configuration.authTimeout.nanoseconds / 1_000_000_000) s"])
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in authDeadline.cancel() }
        try channel.pipeline.syncOperations.addHandler(ProxyHeaderReader(origin: origin.value))
        if let tls = shared.tls {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
        }
        return (origin, authDeadline)
    }

    /// A tcp:// or tls:// member: the preamble names the group's routing
    /// key, then the stream framing carries the same messages as a WebSocket.
    private static func initializeStream(channel: Channel, shared: Shared, logger: Logger) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            guard let (origin, authDeadline) = try accept(channel: channel, shared: shared, logger: logger) else {
                channel.close(promise: nil)
                return
            }
            try channel.pipeline.syncOperations.addHandler(StreamPreambleReader(origin: origin.value, scheme: streamScheme(shared.configuration)) { channel, routingKey in
                let configuration = shared.configuration
                let connection = RelayConnectionHandler(
                    shared: shared, routingKey: routingKey, framer: .stream, clientAddress: origin.value.clientAddress,
                    authDeadline: authDeadline, logger: origin.value.logger)
                try channel.pipeline.syncOperations.addHandlers([
                    LinkMessageHandler(wire: .stream, keepalive: configuration.keepalive, maxMessageSize: configuration.maxFrameSize),
                    connection,
                ])
            })
        }
    }

    private static func initializeWebSocket(channel: Channel, shared: Shared, logger: Logger) -> EventLoopFuture<Void> {
        let configuration = shared.configuration
        let accepted: (NIOLoopBound<ConnectionOrigin>, Scheduled<Void>)?
        do {
            accepted = try accept(channel: channel, shared: shared, logger: logger)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        guard let (origin, authDeadline) = accepted else { return channel.close() }
        let upgrader = WebSocketServerUpgrader(
            shouldUpgrade: { head in
                guard WebSocketGate.routingKey(in: head.uri) != nil, WebSocketGate.offersSubprotocol(head.headers) else { return nil }
                guard origin.value.upgrading(forwardedFor: head.headers["X-Forwarded-For"]) else {
                    channel.close(promise: nil)
                    return nil
                }
                return HTTPHeaders([("Sec-WebSocket-Protocol", ProtocolVersion.subprotocol)])
            },
            upgradePipelineHandler: { channel, head in
                let connection = RelayConnectionHandler(
                    shared: shared, routingKey: WebSocketGate.routingKey(in: head.uri) ?? "", framer: .webSocket(WebSocketFramer(role: .server)),
                    clientAddress: origin.value.clientAddress, authDeadline: authDeadline, logger: origin.value.logger)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        LinkMessageHandler(wire: .webSocket(.server), keepalive: configuration.keepalive, maxMessageSize: configuration.maxFrameSize),
                        connection,
                    ])
                }
            })
        // The gate is removed by the upgrade's completion, on this channel's loop.
        let boundGate = NIOLoopBound(HTTPGate(origin: origin.value), eventLoop: channel.eventLoop)
        return channel.pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                context.pipeline.syncOperations.removeHandler(boundGate.value, promise: nil)
            }),
            withErrorHandling: true
        ).flatMapThrowing {
            try channel.pipeline.syncOperations.addHandler(boundGate.value)
        }
    }

    /// Stops accepting, tells every member the relay is going away (so they
    /// reconnect without waiting for a timeout), and closes what is left
    /// after `grace`.
    public func shutdown(grace: TimeAmount = .seconds(3)) async throws {
        try? await channel.close()
        for listener in streamChannels { try? await listener.close() }
        let open = shared.connections.all
        if !open.isEmpty { logger.info("telling \(open.count) connection(s) the relay is going away") }
        for connection in open {
            connection.pipeline.triggerUserOutboundEvent(CloseWithReason(code: .goingAway, reason: "relay shutting down"), promise: nil)
        }
        // Wait for the members to close, at most `grace`; then close the rest.
        let loop = channel.eventLoop
        let done = loop.makePromise(of: Void.self)
        EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: loop).cascade(to: done)
        let deadline = loop.scheduleTask(in: grace) { done.succeed(()) }
        try? await done.futureResult.get()
        deadline.cancel()
        for connection in shared.connections.all { try? await connection.close() }
        if let ownedGroup { try await ownedGroup.shutdownGracefully() }
    }
}

/// The relay could not start for a reason worth one line.
public struct RelayStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
