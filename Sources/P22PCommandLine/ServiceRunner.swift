import Logging
import ServiceLifecycle

/// Runs a tool's services in one swift-service-lifecycle group: SIGTERM and
/// SIGINT shut them all down gracefully; the first error ends the group and
/// is rethrown for the tool to report as one line.
public enum ServiceRunner {
    public static func run(_ services: [any Service], logger: Logger) async throws {
        var quiet = logger
        // The group's own lines are about its mechanics; ours say what happens.
        quiet.logLevel = max(logger.logLevel, .notice)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: quiet))
        try await group.run()
    }
}
