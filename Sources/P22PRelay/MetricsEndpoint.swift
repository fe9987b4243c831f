import NIOCore
import P22PTransport

/// The relay's endpoint for operators: GET /metrics (Prometheus text format,
/// rendered by the caller) and GET /healthz, for a load balancer's checks.
public enum MetricsEndpoint {
    public static func start(host: String, port: Int, on group: EventLoopGroup,
                             render: @escaping @Sendable () -> [UInt8]) async throws -> HTTPEndpoint {
        try await HTTPEndpoint.start(host: host, port: port, on: group, routes: routes(render: render))
    }

    /// /metrics and /healthz, for any endpoint that serves them.
    public static func routes(render: @escaping @Sendable () -> [UInt8]) -> [String: HTTPEndpoint.Route] {
        [
            "/metrics": { loop in loop.makeSucceededFuture(HTTPEndpoint.Response(contentType: "text/plain; version=0.0.4", body: render())) },
            "/healthz": { loop in loop.makeSucceededFuture(.text("ok\n")) },
        ]
    }
}
