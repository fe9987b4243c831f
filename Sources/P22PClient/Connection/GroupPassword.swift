import Foundation
import P22PCrypto

/// Where a group's password comes from: a file (its first line), an
/// environment variable, or the text itself (discouraged in profiles).
public enum GroupPassword: Equatable, Sendable {
    case file(String)
    case environment(String)
    case inline(String)

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A sentence if the password file can be read by other users of this
    /// machine (as ssh checks private keys), else nil.
    public func exposureWarning(group: String) -> String? { exposureWarning(groups: [group]) }

    /// As above, for a file that several groups (or members) read.
    public func exposureWarning(groups: [String]) -> String? {
        guard case .file(let path) = self, SecretFile.isReadableByOthers(LocalPath.resolve(path)) else { return nil }
        let names = groups.count == 1 ? "group \(groups[0])" : "groups \(groups.joined(separator: ", "))"
        return "the password file \(path) of \(names) is readable by other users; run chmod 600 \(path)"
    }

    /// The file's absolute path, so two spellings of one file are one file.
    public var resolvedFile: String? {
        guard case .file(let path) = self else { return nil }
        return URL(fileURLWithPath: LocalPath.resolve(path)).standardizedFileURL.path
    }

    /// The password, or a sentence naming the file or variable that lacks one.
    public func read(group: String) throws(Failure) -> String {
        switch self {
        case .inline(let password):
            return password
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw Failure(description: "environment variable \(name) (the password of group \(group)) is not set")
            }
            return value
        case .file(let path):
            let resolved = LocalPath.resolve(path)
            guard let contents = try? String(contentsOfFile: resolved, encoding: .utf8) else {
                throw Failure(description: "cannot read the password file \(path) of group \(group)")
            }
            let line = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let password = line.hasSuffix("\r") ? String(line.dropLast()) : line
            guard !password.isEmpty else {
                throw Failure(description: "the password file \(path) of group \(group) is empty; put the password on its first line")
            }
            return password
        }
    }
}
