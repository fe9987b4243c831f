import Foundation
import XCTest

/// A PostgreSQL server of the test's own, from Debian's postgresql package: a
/// fresh cluster in a temporary directory, on a free loopback port, trusting
/// connections from loopback. PostgreSQL refuses to run as root, so as root it
/// runs as the package's `postgres` user (setpriv execs, so the process the
/// test holds is the postmaster itself).
final class PostgresServer {
    let port: Int
    let directory: String
    private let binaries: String
    private let owner: (uid: uid_t, gid: gid_t)?
    private(set) var process: ToolProcess?

    static let user = "p22p"

    /// `postgres://` URL of database `name`.
    func url(database name: String = "p22p") -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    init() throws {
        binaries = try Self.findBinaries()
        port = try freePort()
        directory = "/tmp/p22p-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        if geteuid() == 0 {
            guard let entry = getpwnam("postgres") else { throw XCTSkip("no postgres user (apt-get install postgresql; .ci/run does)") }
            owner = (entry.pointee.pw_uid, entry.pointee.pw_gid)
            chown(directory, entry.pointee.pw_uid, entry.pointee.pw_gid)
        } else {
            owner = nil
        }
        let initdb = try command("\(binaries)/initdb", ["-D", directory + "/data", "-U", Self.user, "--auth=trust", "--no-sync", "-E", "UTF8"])
        initdb.waitUntilExit()
        guard initdb.terminationStatus == 0 else { throw SocketError("initdb failed with status \(initdb.terminationStatus)") }
    }

    /// Starts the server and waits until it takes connections.
    func start() async throws {
        let server = try ToolProcess(executable: owner == nil ? "\(binaries)/postgres" : "/usr/bin/setpriv",
                                     asOwner(["\(binaries)/postgres", "-D", directory + "/data", "-p", "\(port)", "-k", directory,
                                              "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=50"]))
        process = server
        try await server.waitForLine(containing: "database system is ready to accept connections", timeout: 30)
    }

    /// Creates a database owned by the test user.
    func createDatabase(_ name: String = "p22p") throws {
        try sql("CREATE DATABASE \(name)", database: "postgres")
    }

    /// Runs one SQL statement with psql.
    func sql(_ statement: String, database: String = "p22p") throws {
        let psql = try command("\(binaries)/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-d", database, "-q",
                                                    "-v", "ON_ERROR_STOP=1", "-c", statement])
        psql.waitUntilExit()
        guard psql.terminationStatus == 0 else { throw SocketError("psql could not run: \(statement)") }
    }

    /// Kills the postmaster with -9 and waits until its port is closed and its
    /// backends are gone, so `start` can bring the same cluster back.
    func kill9() async throws {
        guard let process else { return }
        process.send(SIGKILL)
        _ = try await process.waitForExit(timeout: 10)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, backendsAlive() { try await Task.sleep(nanoseconds: 50_000_000) }
        self.process = nil
    }

    /// Stops the server (SIGQUIT: immediate shutdown) and removes the cluster.
    func stop() {
        if let process {
            process.send(SIGQUIT)
            process.process.waitUntilExit()
        }
        process = nil
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, backendsAlive() { usleep(50_000) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether any process still has the cluster's data directory as its
    /// working directory (the backends of a killed postmaster, for a moment).
    private func backendsAlive() -> Bool {
        let data = directory + "/data"
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.contains { pid in
            Int(pid) != nil && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == data
        }
    }

    private func asOwner(_ arguments: [String]) -> [String] {
        guard let owner else { return Array(arguments.dropFirst()) }
        return ["--reuid", "\(owner.uid)", "--regid", "\(owner.gid)", "--clear-groups"] + arguments
    }

    private func command(_ path: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: owner == nil ? path : "/usr/bin/setpriv")
        process.arguments = asOwner([path] + arguments)
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private static func findBinaries() throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) })
        where FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/postgres") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        throw XCTSkip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    }
}
