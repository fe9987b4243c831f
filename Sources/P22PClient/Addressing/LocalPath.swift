import Foundation

/// The one rule for file names a user gives (password files, key files, CA
/// files): `~` is the home directory, and a relative name is relative to
/// `base` (a profile's directory) or else to the working directory.
public enum LocalPath {
    public static func resolve(_ path: String, relativeTo base: String? = nil,
                               home: String = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) -> String {
        if path == "~" || path.hasPrefix("~/") { return home + path.dropFirst() }
        guard let base, !path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }
}
