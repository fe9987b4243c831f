import ArgumentParser
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import NIOPosix
import P22PCommandLine
import P22PLogging
import P22PRelay
import P22PRelayPostgres
import P22PTransport
import P22PWire

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p22p-server",
        abstract: "The p22p relay: members connect out to it over WebSockets (or plain TCP) and it routes their end-to-end encrypted frames.",
        discussion: """
            The relay admits members to password-protected groups without learning the
            passwords' data keys, and forwards frames between members it cannot read.
            SIGINT or SIGTERM stop it gracefully: members are told it is going away. See p22p-server(8).
            """,
        version: P22PVersion.withProtocol)

    @Option(name: .long, help: ArgumentHelp("Address to listen on for WebSocket members (ws://, or wss:// with --tls-cert).", valueName: "HOST:PORT"))
    var listen: String = "0.0.0.0:39453"

    @Option(name: .customLong("listen-tcp"), help: ArgumentHelp("Also listen here for members on plain TCP (tcp://, or tls:// with --tls-cert); repeatable.", valueName: "HOST:PORT"))
    var listenTCP: [String] = []

    @Option(name: .long, help: ArgumentHelp("Seconds between keepalive pings; a member silent for three intervals is dropped.", valueName: "SECONDS"))
    var keepalive: Int = 15

    @Option(name: .long, help: ArgumentHelp("Serve wss:// (and tls:// on --listen-tcp) with this PEM certificate chain (needs --tls-key).", valueName: "FILE"))
    var tlsCert: String?

    @Option(name: .long, help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "FILE"))
    var tlsKey: String?

    @Option(name: .long, help: ArgumentHelp("Largest message accepted from a member (4096 to 66560); members fit their data frames to it.", valueName: "BYTES"))
    var maxFrameSize: Int = RelayConfiguration().maxFrameSize

    @Option(name: .long, help: ArgumentHelp("Keep reservations and their signing key in DIR, so they survive restarts.", valueName: "DIR"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp(
        "Keep reservations and their signing key in PostgreSQL instead, shared by every relay that names the same database (a cluster behind a load balancer). The password comes from PGPASSWORD or the URL; add ?sslmode=require for TLS.",
        valueName: "postgres://USER@HOST:PORT/DB"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("Reservation requests per client address and hour.", valueName: "N"))
    var reservationsPerHour: Int = RelayConfiguration().reservationsPerHour

    @Option(name: .long, help: ArgumentHelp("Unexpired reservations one client address may hold.", valueName: "N"))
    var reservationsPerAddress: Int = RelayConfiguration().reservationsPerAddress

    @Option(name: .long, help: ArgumentHelp("Event-loop threads; more spread many busy groups over cores.", valueName: "N"))
    var threads: Int = RelayConfiguration().threads

    @Option(name: .long, help: ArgumentHelp("Most streams one member may have open at once.", valueName: "N"))
    var maxStreams: Int = RelayConfiguration().maxStreamsPerMember

    @Option(name: .long, help: ArgumentHelp("Most groups the relay holds at once.", valueName: "N"))
    var maxGroups: Int = RelayConfiguration().maxGroups

    @Option(name: .long, help: ArgumentHelp("Most members per group (up to 65535).", valueName: "N"))
    var maxMembers: Int = RelayConfiguration().maxMembersPerGroup

    @Option(name: .long, help: ArgumentHelp("Seconds a new connection has to create or join a group.", valueName: "SECONDS"))
    var authTimeout: Int = 10

    @Option(name: .long, help: ArgumentHelp("Bytes queued toward one member before it is disconnected as not reading.", valueName: "BYTES"))
    var maxBuffered: Int = RelayConfiguration().maxBufferedPerMember

    @Option(name: .long, help: ArgumentHelp("Bytes queued toward all members together before members with a backlog are disconnected as not reading.", valueName: "BYTES"))
    var maxBufferedTotal: Int = RelayConfiguration().maxBufferedTotal

    @Option(name: .long, help: ArgumentHelp("Failed joins (wrong password) per client address and minute before joins from it are refused.", valueName: "N"))
    var failedJoinsPerMinute: Int = RelayConfiguration().failedJoinsPerMinute

    @Option(name: .long, help: ArgumentHelp("Connections one client address may have open at once; more are closed at once.", valueName: "N"))
    var maxConnectionsPerAddress: Int = RelayConfiguration().maxConnectionsPerAddress

    @Option(name: .long, help: ArgumentHelp("Groups one client address may create per minute.", valueName: "N"))
    var groupsPerMinute: Int = RelayConfiguration().groupsPerMinute

    @Option(name: .long, help: ArgumentHelp(
        "A load balancer or proxy (address or CIDR block, IPv4 or IPv6) whose PROXY header or X-Forwarded-For names the client; repeatable. (default: none)",
        valueName: "CIDR"))
    var trustedProxy: [String] = []

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz).", valueName: "HOST:PORT"))
    var metrics: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    @Option(name: .long, help: ArgumentHelp("Log lines as text or json (one object per line).", valueName: "FORMAT"))
    var logFormat: String = "text"

    static func main() async { await CommandRunner.main(self, tool: "p22p-server") }

    func run() async throws {
        guard let level = Logger.Level(argument: logLevel) else { throw CommandError.usage(Logger.Level.unknownArgumentMessage(logLevel)) }
        guard (1...3600).contains(keepalive) else { throw CommandError.usage("--keepalive must be between 1 and 3600 seconds") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw CommandError.usage("--tls-cert and --tls-key go together") }
        guard maxGroups >= 1 else { throw CommandError.usage("--max-groups must be at least 1") }
        guard (1...65535).contains(maxMembers) else { throw CommandError.usage("--max-members must be between 1 and 65535") }
        guard (1...3600).contains(authTimeout) else { throw CommandError.usage("--auth-timeout must be between 1 and 3600 seconds") }
        guard maxBuffered >= 1 << 20 else { throw CommandError.usage("--max-buffered must be at least 1048576") }
        guard maxBufferedTotal >= maxBuffered else { throw CommandError.usage("--max-buffered-total must be at least --max-buffered (\(maxBuffered))") }
        guard failedJoinsPerMinute >= 1 else { throw CommandError.usage("--failed-joins-per-minute must be at least 1") }
        guard logFormat == "text" || logFormat == "json" else { throw CommandError.usage("--log-format must be text or json") }
        let metricsAddress = try metrics.map { text throws(CommandError) in try HostPort.parse(text) }
        guard state == nil || stateDir == nil else {
            throw CommandError.usage("--state and --state-dir exclude each other: reservations live either in a database or in a directory")
        }
        let database = try state.map { text throws(CommandError) in
            do throws(PostgresLocation.Invalid) {
                return try PostgresLocation(parsing: text)
            } catch {
                throw CommandError.usage("--state: \(error)")
            }
        }
        LogBackend.stdout(logFormat == "json" ? .json : .text).bootstrap(level: level)
        let registry = PrometheusCollectorRegistry()
        if metricsAddress != nil { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
        let logger = Logger(label: "p22p-server")
        var configuration = RelayConfiguration()
        (configuration.host, configuration.port) = try HostPort.parse(listen)
        configuration.streamListeners = try listenTCP.map { text throws(CommandError) in
            let (host, port) = try HostPort.parse(text)
            return ListenAddress(host: host, port: port)
        }
        configuration.keepalive = Keepalive(interval: .seconds(Int64(keepalive)), timeout: .seconds(Int64(keepalive) * 3))
        guard maxStreams >= 1 else { throw CommandError.usage("--max-streams must be at least 1") }
        guard (1...256).contains(threads) else { throw CommandError.usage("--threads must be between 1 and 256") }
        configuration.threads = threads
        configuration.maxStreamsPerMember = maxStreams
        configuration.maxGroups = maxGroups
        configuration.maxMembersPerGroup = maxMembers
        configuration.authTimeout = .seconds(Int64(authTimeout))
        configuration.maxBufferedPerMember = maxBuffered
        configuration.maxBufferedTotal = maxBufferedTotal
        configuration.pauseAbove = min(configuration.pauseAbove, maxBuffered / 4)
        configuration.failedJoinsPerMinute = failedJoinsPerMinute
        guard maxConnectionsPerAddress >= 1 else { throw CommandError.usage("--max-connections-per-address must be at least 1") }
        configuration.maxConnectionsPerAddress = maxConnectionsPerAddress
        guard groupsPerMinute >= 1 else { throw CommandError.usage("--groups-per-minute must be at least 1") }
        configuration.groupsPerMinute = groupsPerMinute
        switch TrustedProxies.parse(trustedProxy) {
        case .success(let proxies): configuration.trustedProxies = proxies
        case .failure(let error): throw CommandError.usage("--trusted-proxy \(error)")
        }
        guard (Limits.minFrameSize...Limits.defaultMaxFrameSize).contains(maxFrameSize) else {
            throw CommandError.usage("--max-frame-size must be between \(Limits.minFrameSize) and \(Limits.defaultMaxFrameSize)")
        }
        configuration.maxFrameSize = maxFrameSize
        configuration.stateDirectory = stateDir
        guard reservationsPerHour >= 1 else { throw CommandError.usage("--reservations-per-hour must be at least 1") }
        configuration.reservationsPerHour = reservationsPerHour
        guard reservationsPerAddress >= 1 else { throw CommandError.usage("--reservations-per-address must be at least 1") }
        configuration.reservationsPerAddress = reservationsPerAddress
        if let tlsCert, let tlsKey { configuration.tls = RelayTLS(certificateFile: tlsCert, keyFile: tlsKey) }

        var shared: PostgresReservationStore?
        if let database {
            do throws(PostgresReservationStore.StartError) {
                shared = try await PostgresReservationStore.open(database, logger: logger)
            } catch {
                throw CommandError.failed(error.description)
            }
        }
        let server: RelayServer
        do {
            server = try await RelayServer.start(configuration: configuration, reservations: shared, logger: logger)
        } catch {
            shared?.close()
            if let startError = error as? RelayStartError { throw CommandError.failed(startError.description) }
            throw CommandError.failed("cannot listen on \(listen): \(describeSocketError(error))")
        }
        var services: [any Service] = [RelayService(server: server, logger: logger)]
        if let shared { services.append(DatabaseWatch(store: shared)) }
        if let (host, port) = metricsAddress {
            do {
                let endpoint = try await MetricsEndpoint.start(host: host, port: port, on: MultiThreadedEventLoopGroup.singleton) {
                    server.refreshGauges()
                    return registry.emitToBuffer()
                }
                services.append(MetricsService(endpoint: endpoint))
                logger.info("metrics at http://\(metrics!)/metrics")
            } catch {
                try? await server.shutdown(grace: .zero)
                throw CommandError.failed("cannot serve metrics on \(metrics!): \(describeSocketError(error))")
            }
        }
        try await ServiceRunner.run(services, logger: logger)
    }
}

/// The relay, `p22p-server`. The executable only calls this, so one binary can
/// also be all three tools under their names (see `p22p/main.swift`).
public enum ServerTool {
    public static func main() async { await ServerCommand.main() }
}
