import Foundation
import P22PClient

/// Where a command-line group password comes from, in order: a file (its first line), the
/// `P22P_PASSWORD` environment variable, or a no-echo prompt on a terminal.
public enum PasswordSource {
    public static let environmentVariable = "P22P_PASSWORD"

    public static func resolve(file: String?, group: String) throws(CommandError) -> String {
        if let file {
            let source = GroupPassword.file(file)
            if let warning = source.exposureWarning(group: group) { FileHandle.standardError.write(Data("p22p: warning: \(warning)\n".utf8)) }
            do { return try source.read(group: group) } catch { throw .usage(error.description) }
        }
        guard let password = try environmentOrPrompt(group: group) else {
            throw .usage("no password: use --password-file FILE, set \(environmentVariable), or run on a terminal")
        }
        return password
    }

    /// `P22P_PASSWORD`, else a no-echo prompt when standard input is a
    /// terminal; nil when there is neither (the command loop has no file).
    public static func environmentOrPrompt(group: String) throws(CommandError) -> String? {
        if let value = ProcessInfo.processInfo.environment[environmentVariable], !value.isEmpty {
            return value
        }
        guard isatty(STDIN_FILENO) == 1 else { return nil }
        guard let password = Terminal.readHidden(prompt: "Password for group \(group): "), !password.isEmpty else {
            throw .usage("no password entered")
        }
        return password
    }
}

public enum Terminal {
    /// Reads one line from the terminal with echo off, restoring the terminal
    /// even when interrupted mid-way.
    public static func readHidden(prompt: String) -> String? {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        let haveTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if haveTerminal {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        }
        defer {
            if haveTerminal { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true)
    }
}
