import Foundation

/// p22p-up profiles for tests, written to a fresh directory with the group's
/// password file beside them. Two members: "host" allows targets, "guest"
/// forwards local ports to it; both reconnect quickly (200 ms, at most 1 s).
struct Profiles {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-up-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "daemon test password\n".write(to: directory.appendingPathComponent("group.pass"), atomically: true, encoding: .utf8)
    }

    func write(_ name: String, _ yaml: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `extra` adds top-level keys; `groupExtra` adds keys to the group.
    static func host(server: String, allow: Int, extra: String = "", groupExtra: String = "") -> String {
        """
        server: \(server)
        name: host
        reconnect: { initial_delay: 200ms, max_delay: 1s }
        \(extra)
        groups:
          - name: home
            password_file: group.pass
            allow: [\(allow)]
        \(groupExtra.isEmpty ? "" : "    " + groupExtra)
        """
    }

    static func guest(server: String, forwards: [(local: Int, target: Int)], extra: String = "", groupExtra: String = "") -> String {
        let lines = forwards.map { "      - { listen: 127.0.0.1:\($0.local), peer: host, target: \($0.target) }" }.joined(separator: "\n")
        return """
        server: \(server)
        name: guest
        reconnect: { initial_delay: 200ms, max_delay: 1s }
        \(extra)
        groups:
          - name: home
            password_file: group.pass
        \(groupExtra.isEmpty ? "" : "    " + groupExtra)
            forwards:
        \(lines)
        """
    }
}

/// Polls a forward until a round trip succeeds (both members joined); returns
/// how long that took.
@discardableResult
func waitUntilForwarding(port: Int, timeout: TimeInterval = 15) async throws -> TimeInterval {
    let started = Date()
    while Date().timeIntervalSince(started) < timeout {
        if let answer = try? roundTrip(port: port, message: Array("ready?".utf8)), answer == Array("ready?".utf8) {
            return Date().timeIntervalSince(started)
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    throw SocketError("forward on port \(port) did not work within \(timeout) s")
}
