import ArgumentParser
import Foundation
import P22PClient
import P22PCommandLine
import P22PCrypto
import P22PShell

/// `p22p` or `p22p shell`: the interactive command loop.
struct ShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell", abstract: "The interactive command loop (the default when p22p runs without a subcommand).",
        discussion: "Type help in the loop for its commands; help usage walks through a first session.")

    @Option(name: .long, help: ArgumentHelp("Member name in groups (default: this host's name).", valueName: "NAME"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("Trust only the CA certificates in FILE for wss:// and tls:// relays.", valueName: "FILE"))
    var caFile: String?

    @Option(name: .long, help: ArgumentHelp("Require the wss:// or tls:// relay's certificate to have this SHA-256 (64 hex digits).", valueName: "HEX"))
    var pinSha256: String?

    @Option(name: .long, help: ArgumentHelp("This member's static key, so peers can pin it (created if missing; default: a new key per run).", valueName: "FILE"))
    var identity: String?

    func run() throws {
        let name = self.name ?? HostName.memberName
        let interactive = isatty(STDIN_FILENO) == 1
        let tls = try TLSOptions.fromCommandLine(caFile: caFile, pinSHA256: pinSha256)
        let identity = try self.identity.map { path throws(CommandError) in try MemberIdentity.fromCommandLine(path) } ?? MemberConfiguration.processIdentity
        // On a terminal, libedit edits the line; from a pipe or a script,
        // lines are read as they come.
        let completer = ShellCompleter()
        let editor = interactive ? LineEditor(historyPath: LineEditor.defaultHistoryPath) { completer.words(firstWord: $0) } : nil
        let shell = Shell(console: Console(interactive: interactive, editor: editor), name: name, tls: tls, identity: identity) { group in
            guard let password = try PasswordSource.environmentOrPrompt(group: group) else { throw ShellPasswordError(group: group) }
            return password
        }
        completer.shell = shell
        guard let editor else { throw ExitCode(shell.run { readLine(strippingNewline: true) }) }
        throw ExitCode(shell.run {
            switch editor.read(prompt: Console.prompt) {
            case .line(let line): return line
            case .interrupted:
                // The half-typed line is dropped; the loop goes on.
                print("^C")
                return ""
            case .end:
                print()
                return nil
            }
        })
    }
}

struct ShellPasswordError: Error, CustomStringConvertible {
    let group: String
    var description: String { "no password for group \(group): set P22P_PASSWORD or run on a terminal" }
}

/// Tab's words, from the shell once it exists. Asked only from the loop's
/// own thread, inside the line editor.
final class ShellCompleter: @unchecked Sendable {
    var shell: Shell?

    func words(firstWord: Bool) -> [String] { shell?.completions(firstWord: firstWord) ?? [] }
}
