import Logging
import ServiceLifecycle
import UnixSignals

/// `p22p-up` as a service: SIGHUP reloads the profile, and when the group
/// shuts down (SIGTERM, SIGINT) every group is left cleanly.
public struct DaemonService: Service {
    let daemon: Daemon
    let profilePath: String
    let logger: Logger

    public init(daemon: Daemon, profilePath: String, logger: Logger) {
        self.daemon = daemon
        self.profilePath = profilePath
        self.logger = logger
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            logger.info("reloading \(profilePath) on SIGHUP")
            await daemon.reload()
        }
        logger.info("stopping: leaving every group")
        await daemon.stop()
    }
}
