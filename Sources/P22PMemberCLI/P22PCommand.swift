import ArgumentParser
import Foundation
import P22PClient
import P22PWire
import P22PCommandLine
import P22PLogging

struct P22PCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p22p",
        abstract: "Forward TCP ports between machines that cannot accept connections, through a p22p relay.",
        discussion: """
            Every member connects out to the relay, joins a password-protected group,
            and forwards local ports to ports on other members. Traffic between members
            is end-to-end encrypted with keys derived from the group password.
            Without a subcommand, p22p opens its interactive command loop.
            Exit status: 0 success, 1 usage error or failed operation, 2 relay unreachable.
            See p22p(1).
            """,
        version: P22PVersion.withProtocol,
        subcommands: [ShellCommand.self, CreateCommand.self, JoinCommand.self, PingCommand.self, PeersCommand.self,
                      ReserveCommand.self, ExtendCommand.self, PasswordCommand.self, IdentityCommand.self],
        defaultSubcommand: ShellCommand.self)

    static func main() async { await CommandRunner.main(self, tool: "p22p") }
}

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a group and stay in it, forwarding ports, until interrupted.",
        discussion: "Fails if the group already exists on the relay. Names starting with '#' need the reservation key from p22p reserve.")

    @Argument(help: "Name of the group to create.") var group: String
    @OptionGroup var options: MemberOptions
    @Option(name: .long, help: ArgumentHelp("The reservation key file of a '#' group (from p22p reserve).", valueName: "FILE"))
    var reservation: String?

    func run() async throws {
        let key = try reservation.map { path throws(CommandError) in try loadReservation(path) }
        try await MemberSession(group: group, policy: .create, options: options, reservation: key).run()
    }
}

struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join an existing group and stay in it, forwarding ports, until interrupted.",
        discussion: "Fails if the password is wrong. While the group does not exist, waits for a member to create it (with --no-reconnect: fails).")

    @Argument(help: "Name of the group to join.") var group: String
    @OptionGroup var options: MemberOptions

    func run() async throws {
        try await MemberSession(group: group, policy: .join, options: options).run()
    }
}

/// The member tool, `p22p`: one-shot commands and the command loop. The executable only calls this, so one binary can
/// also be all three tools under their names (see `p22p/main.swift`).
public enum MemberTool {
    public static func main() async {
        if let refusal = unknownCommand(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("p22p: \(refusal)\n".utf8))
            exit(1)
        }
        await P22PCommand.main()
    }

    /// The subcommands, and the argument parser's own `help`.
    static var commands: [String] {
        P22PCommand.configuration.subcommands.map { $0.configuration.commandName ?? "" } + ["help"]
    }

    /// Why the arguments name no command, if they don't. The command loop
    /// takes no words of its own, so a first word that is not a command is a
    /// mistyped one, not the loop's: say so instead of printing its usage.
    static func unknownCommand(_ arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), !commands.contains(first) else { return nil }
        return "unknown command \"\(first)\"\(Spelling.suggestion(for: first, among: commands))\n"
            + "commands: \(commands.joined(separator: ", ")); p22p --help explains them"
    }
}
