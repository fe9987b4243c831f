import Logging
import NIOCore
import P22PTransport
import ServiceLifecycle

/// The relay as a service: it runs until the group shuts down, then tells
/// every member it is going away and closes.
public struct RelayService: Service {
    let server: RelayServer
    let logger: Logger
    let grace: TimeAmount

    public init(server: RelayServer, logger: Logger, grace: TimeAmount = .seconds(3)) {
        self.server = server
        self.logger = logger
        self.grace = grace
    }

    public func run() async throws {
        try? await gracefulShutdown()
        logger.info("shutting down")
        try await server.shutdown(grace: grace)
    }
}

/// The metrics endpoint as a service, closed when the group shuts down.
public struct MetricsService: Service {
    let endpoint: HTTPEndpoint

    public init(endpoint: HTTPEndpoint) { self.endpoint = endpoint }

    public func run() async throws {
        try? await gracefulShutdown()
        await endpoint.close()
    }
}
