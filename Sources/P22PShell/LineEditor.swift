import CLibEdit
import Foundation
import Synchronization

/// Line editing for the command loop on a terminal, through libedit: arrow
/// keys, Ctrl-A/E and the rest of Emacs-style editing, history kept in a file
/// across runs, Tab completion, and Ctrl-C that drops the half-typed line
/// instead of ending the loop. Not used when stdin is not a terminal.
public final class LineEditor {
    /// What one read gave.
    public enum Input: Equatable {
        case line(String)
        /// Ctrl-C: the line typed so far is dropped.
        case interrupted
        /// Ctrl-D on an empty line, or stdin closed.
        case end
    }

    private let historyPath: String?

    /// `completions` gives the words Tab may complete to: for the first word
    /// of a line the commands, after it peer names too.
    public init(historyPath: String?, completions: @escaping @Sendable (_ firstWord: Bool) -> [String]) {
        self.historyPath = historyPath
        LineEditorHooks.completions.withLock { $0 = completions }
        p22p_editline_setup(strdup("p22p"), lineEditorGetc, lineEditorComplete)
        rl_initialize()
        stifle_history(1000)
        if let historyPath {
            try? FileManager.default.createDirectory(atPath: (historyPath as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            _ = read_history(historyPath)
        }
        LineEditorHooks.catchInterrupts()
    }

    public func read(prompt: String) -> Input {
        LineEditorHooks.interrupted.store(false, ordering: .relaxed)
        let raw = readline(prompt)
        if LineEditorHooks.interrupted.exchange(false, ordering: .relaxed) {
            free(raw)
            return .interrupted
        }
        guard let raw else { return .end }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            add_history(line)
            if let historyPath { _ = write_history(historyPath) }
        }
        return .line(line)
    }

    /// After text was printed over the line being edited: draw it again.
    public func redraw() {
        rl_forced_update_display()
    }

    /// `~/.local/state/p22p/history`, or under `XDG_STATE_HOME`.
    public static var defaultHistoryPath: String? {
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/p22p/history" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.local/state/p22p/history"
    }
}

/// What libedit's C callbacks reach: they cannot capture context.
enum LineEditorHooks {
    static let completions = Mutex<(@Sendable (Bool) -> [String])?>(nil)
    /// Set by SIGINT; the read in progress ends and reports `.interrupted`.
    static let interrupted = Atomic<Bool>(false)
    /// Keys typed on the user's behalf, read before stdin.
    static let injected = Mutex<[UInt8]>([])
    /// The matches of the completion under way, handed out one by one.
    static let matches = Mutex<[String]>([])

    /// Written to by the SIGINT handler, which may run on any thread (the
    /// event loops' too): the reader waits on it beside stdin.
    static let wake: (read: Int32, write: Int32) = {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return (-1, -1) }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        return (ends[0], ends[1])
    }()

    static func catchInterrupts() {
        _ = wake
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            LineEditorHooks.interrupted.store(true, ordering: .relaxed)
            var byte: UInt8 = 0
            _ = Glibc.write(LineEditorHooks.wake.write, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
    }
}

/// libedit's getc: one byte from stdin. When Ctrl-C interrupts the wait,
/// it types Ctrl-A, Ctrl-K and Enter for the user: the line is emptied and
/// given back empty, and `read` reports the interrupt.
private func lineEditorGetc(_ file: UnsafeMutablePointer<FILE>?) -> Int32 {
    if let key = LineEditorHooks.injected.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return Int32(key) }
    var byte: UInt8 = 0
    while true {
        var waits = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                     pollfd(fd: LineEditorHooks.wake.read, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&waits, 2, -1)
        if ready < 0 {
            if errno == EINTR { continue }
            return EOF
        }
        if waits[1].revents != 0 {
            while Glibc.read(LineEditorHooks.wake.read, &byte, 1) == 1 {}
            if LineEditorHooks.interrupted.load(ordering: .relaxed) {
                LineEditorHooks.injected.withLock { $0 = [0x0B, 0x0D] }
                return 0x01
            }
        }
        guard waits[0].revents != 0 else { continue }
        let count = Glibc.read(STDIN_FILENO, &byte, 1)
        if count == 1 { return Int32(byte) }
        if count < 0, errno == EINTR || errno == EAGAIN { continue }
        return EOF
    }
}

private func lineEditorComplete(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    let prefix = text.map { String(cString: $0) } ?? ""
    let words = LineEditorHooks.completions.withLock { $0 }?(start == 0) ?? []
    LineEditorHooks.matches.withLock { $0 = words.filter { $0.hasPrefix(prefix) }.sorted() }
    return rl_completion_matches(text, lineEditorNextMatch)
}

private func lineEditorNextMatch(_ text: UnsafePointer<CChar>?, _ state: Int32) -> UnsafeMutablePointer<CChar>? {
    LineEditorHooks.matches.withLock { matches in
        guard Int(state) < matches.count else { return nil }
        return strdup(matches[Int(state)])
    }
}
