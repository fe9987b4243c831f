import ArgumentParser
import Logging
import NIOCore
import P22PCommandLine
import P22PLogging
import P22PRelay
import P22PTransport

@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p22p-server",
        abstract: "The p22p relay: members connect out to it over WebSockets and it routes their end-to-end encrypted frames.",
        discussion: """
            The relay admits members to password-protected groups without learning the
            passwords' data keys, and forwards frames between members it cannot read.
            Stop it with SIGINT or SIGTERM. See p22p-server(8).
            """)

    @Option(name: .long, help: ArgumentHelp("Address to listen on.", valueName: "HOST:PORT"))
    var listen: String = "0.0.0.0:39453"

    @Option(name: .long, help: ArgumentHelp("Seconds between keepalive pings; a member silent for three intervals is dropped.", valueName: "SECONDS"))
    var keepalive: Int = 15

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    static func main() async { await CommandRunner.main(self, tool: "p22p-server") }

    func run() async throws {
        guard let level = Logger.Level(argument: logLevel) else { throw CommandError.usage("unknown log level \(logLevel)") }
        guard (1...3600).contains(keepalive) else { throw CommandError.usage("--keepalive must be between 1 and 3600 seconds") }
        ConsoleLogging.bootstrap(level: level)
        let logger = Logger(label: "p22p-server")
        var configuration = RelayConfiguration()
        (configuration.host, configuration.port) = try HostPort.parse(listen)
        configuration.keepalive = Keepalive(interval: .seconds(Int64(keepalive)), timeout: .seconds(Int64(keepalive) * 3))

        let server: RelayServer
        do {
            server = try await RelayServer.start(configuration: configuration, logger: logger)
        } catch {
            throw CommandError.failed("cannot listen on \(listen): \(describeSocketError(error))")
        }
        let stop = ShutdownSignal()
        let signalName: String = await withCheckedContinuation { continuation in
            stop.onSignal { continuation.resume(returning: $0) }
        }
        logger.info("shutting down on \(signalName)")
        try? await server.shutdown()
    }
}
