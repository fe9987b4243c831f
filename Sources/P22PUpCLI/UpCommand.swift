import ArgumentParser
import Foundation
import Logging
import Metrics
import P22PCommandLine
import P22PDaemon
import P22PLogging
import P22PProfile
import P22PWire
import Prometheus

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p22p-up",
        abstract: "Keep the groups and forwards of a p22p profile up, reconnecting as needed.",
        discussion: """
            Reads PROFILE (YAML, see p22p.yaml(5)), joins every group in it and keeps every
            forward working, reconnecting with exponential backoff when the relay goes away.
            SIGHUP reloads the profile; SIGINT and SIGTERM leave cleanly (exit 0). Under
            systemd (NOTIFY_SOCKET) it reports READY=1 once every group is joined and
            honours WatchdogSec. `p22p-up status PROFILE` asks the daemon running PROFILE
            through its status endpoint (see --help there). See p22p-up(1).
            """,
        version: P22PVersion.withProtocol)

    @Argument(help: "The profile to run.") var profile: String

    @Flag(name: .long, help: "Only check the profile: exit 0, or print file:line:column: message and exit 1.")
    var check = false

    @Option(name: .long, help: ArgumentHelp("Log to stdout or journal (overrides log.target in the profile).", valueName: "TARGET"))
    var log: String?

    @Option(name: .long, help: ArgumentHelp("Log level (overrides log.level): trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL"))
    var logLevel: String?

    static func main() async { await CommandRunner.main(self, tool: "p22p-up") }

    func run() async throws {
        if let log, LogSettings.Target(rawValue: log) == nil { throw CommandError.usage("--log must be stdout or journal, not \(log)") }
        if let logLevel, Logger.Level(argument: logLevel) == nil { throw CommandError.usage(Logger.Level.unknownArgumentMessage(logLevel)) }
        let defaultName = HostName.memberName
        let loaded: LoadedProfile
        do {
            loaded = try ProfileParser.load(path: profile, defaultName: defaultName)
        } catch {
            throw CommandError.located(error.description)
        }
        if check {
            for warning in loaded.warnings { FileHandle.standardError.write(Data("\(warning)\n".utf8)) }
            let forwards = loaded.profile.groups.reduce(0) { $0 + $1.forwards.count }
            print("\(profile): OK (\(loaded.profile.groups.count) group(s), \(forwards) forward(s))")
            return
        }

        let settings = loaded.profile.log
        let target = log.flatMap(LogSettings.Target.init(rawValue:)) ?? settings.target
        let level = Logger.Level(argument: logLevel ?? settings.level) ?? .info
        switch target {
        case .stdout: LogBackend.stdout(settings.format == .json ? .json : .text).bootstrap(level: level)
        case .journal: LogBackend.journal(identifier: "p22p-up").bootstrap(level: level)
        }
        let logger = Logger(label: "p22p-up")
        // Before anything makes a metric: those made earlier would not report.
        var render: (@Sendable () -> [UInt8])?
        if loaded.profile.status != nil {
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            render = { registry.emitToBuffer() }
        }
        let daemon = Daemon(profilePath: profile, loaded: loaded, defaultName: defaultName, logger: logger, renderMetrics: render)
        do {
            try await daemon.start()
        } catch {
            await daemon.stop()
            throw CommandError.failed("\(error)")
        }
        try await ServiceRunner.run([DaemonService(daemon: daemon, profilePath: profile, logger: logger)], logger: logger)
    }
}

/// The daemon, `p22p-up`. The executable only calls this, so one binary can
/// also be all three tools under their names (see `p22p/main.swift`).
public enum UpTool {
    public static func main() async {
        // `p22p-up status PROFILE` asks a running daemon; any other first
        // argument is the profile to run (a profile named "status" runs as
        // `p22p-up ./status`).
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "status" {
            await CommandRunner.main(StatusCommand.self, tool: "p22p-up status", arguments: Array(arguments.dropFirst()))
        }
        await UpCommand.main()
    }
}
