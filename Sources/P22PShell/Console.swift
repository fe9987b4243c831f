import Foundation
import Logging
import P22PLogging

/// The terminal the command loop talks to. Output is written whole under a
/// lock; events arriving from the network while the user types are printed
/// on their own line above a fresh prompt, so the prompt is never garbled.
public final class Console: @unchecked Sendable {  // every mutable field is read and written under `lock`
    public static let prompt = "(p22p) "
    private let lock = NSLock()
    private let interactive: Bool
    private var promptShown = false
    /// When a line editor draws the prompt and the line being typed, events
    /// are printed over it and it draws both again.
    private let editor: LineEditor?

    public init(interactive: Bool, editor: LineEditor? = nil) {
        self.interactive = interactive
        self.editor = editor
    }

    /// A reply to the command just typed.
    public func say(_ text: String) {
        write(text.hasSuffix("\n") ? text : text + "\n", isEvent: false)
    }

    /// Something that happened on its own (a peer joined, a stream was refused).
    public func event(_ text: String) {
        write(text + "\n", isEvent: true)
    }

    public func showPrompt() {
        guard interactive else { return }
        lock.lock()
        defer { lock.unlock() }
        if editor == nil { FileHandle.standardOutput.write(Data(Self.prompt.utf8)) }
        promptShown = true
    }

    public func promptConsumed() {
        lock.lock()
        promptShown = false
        lock.unlock()
    }

    private func write(_ text: String, isEvent: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isEvent, interactive, promptShown, let editor {
            // Over the line being typed; the editor draws prompt and line again.
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text).utf8))
            editor.redraw()
        } else if isEvent, interactive, promptShown {
            // Clear the prompt line, print the event, put the prompt back.
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text + Self.prompt).utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

/// Routes the client library's log lines to the console as events.
struct ConsoleEventLogHandler: LogHandler {
    let console: Console
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix = event.level >= .warning ? "\(event.level): " : ""
        console.event(prefix + LogText.escapingControls("\(event.message)"))
    }
}
