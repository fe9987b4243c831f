import ArgumentParser
import Foundation

/// A failure the tools report as one line and an exit status:
/// 1 for usage or a failed operation, 2 when the relay cannot be reached.
public enum CommandError: Error, CustomStringConvertible {
    case usage(String)
    case failed(String)
    case cannotConnect(String)
    /// Printed as is, without the tool's name: `profile.yaml:3:5: …` must
    /// start the line for editors to jump to it.
    case located(String)

    public var description: String {
        switch self {
        case .usage(let text), .failed(let text), .cannotConnect(let text), .located(let text): text
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .usage, .failed, .located: 1
        case .cannotConnect: 2
        }
    }
}

public enum CommandRunner {
    /// Runs an argument-parser command, printing `tool: message` for any error
    /// instead of a stack trace, and mapping usage errors to exit status 1.
    public static func main<Command: ParsableCommand>(_ type: Command.Type, tool: String, arguments: [String]? = nil) async -> Never {
        AllocatorTuning.apply()
        do {
            var command = try type.parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit(0)
        } catch let error as CommandError {
            if case .located = error {
                FileHandle.standardError.write(Data("\(error.description)\n".utf8))
            } else {
                FileHandle.standardError.write(Data("\(tool): \(error.description)\n".utf8))
            }
            exit(error.exitCode)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            let code = type.exitCode(for: error)
            if code == .success {
                print(type.fullMessage(for: error))
                exit(0)
            }
            FileHandle.standardError.write(Data("\(tool): \(type.fullMessage(for: error))\n".utf8))
            exit(code == .validationFailure ? 1 : code.rawValue)
        }
    }
}
