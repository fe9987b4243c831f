import Foundation

public enum HostName {
    /// This host's name made into a valid member name (the default `--name`).
    public static var memberName: String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        let cleaned = String(host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.filter(\.isASCII))
        return cleaned.isEmpty || cleaned.allSatisfy(\.isNumber) ? "member" : String(cleaned.prefix(64))
    }
}
