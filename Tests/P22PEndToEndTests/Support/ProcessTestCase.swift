import Foundation
import XCTest

/// A test case that runs the built tools as processes and stops every one it
/// started when the test ends, whatever happened.
class ProcessTestCase: XCTestCase {
    private(set) var processes: [ToolProcess] = []
    private var servers: [TCPTestServer] = []
    private var madeProfiles: Profiles?

    override func tearDown() {
        for process in processes { process.stop() }
        processes.removeAll()
        for server in servers { server.stop() }
        servers.removeAll()
        // The processes are gone: their profiles, sockets and state go too.
        if let madeProfiles { try? FileManager.default.removeItem(at: madeProfiles.directory) }
        madeProfiles = nil
        super.tearDown()
    }

    /// An echo server on loopback, stopped with the test.
    func echoServer() throws -> TCPTestServer {
        let server = try TCPTestServer.echo()
        servers.append(server)
        return server
    }

    /// A fresh directory for this test's profiles, with the group password file.
    func profiles() throws -> Profiles {
        if let madeProfiles { return madeProfiles }
        let made = try Profiles()
        madeProfiles = made
        return made
    }

    @discardableResult
    func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:],
             interactive: Bool = false, namespace: String? = nil) throws -> ToolProcess {
        let process = try ToolProcess(tool, arguments, environment: environment, interactive: interactive, namespace: namespace)
        processes.append(process)
        return process
    }

    /// A relay process on a free port, stopped with the test.
    func startRelay(_ extraArguments: [String] = []) async throws -> RelayProcess {
        let relay = try await RelayProcess(extraArguments: extraArguments)
        processes.append(relay.tool)
        return relay
    }

    /// A relay process on a given port (so a test can kill it and start it
    /// again there), once it listens.
    func relay(onPort port: Int, _ extraArguments: [String] = []) async throws -> ToolProcess {
        let relay = try run("p22p-server", ["--listen", "127.0.0.1:\(port)"] + extraArguments)
        try await relay.waitForLine(containing: "relay listening")
        return relay
    }

    /// A relay on a given port that starts only when `start(standby)` says
    /// so: its process is spawned now, and execs p22p-server later. For a
    /// test that holds thousands of sockets when it needs the relay: there,
    /// Foundation's Process.run could crash the test run, because it reads
    /// each /proc/self/fd entry as a whole 256-byte name, past the end of
    /// readdir's buffer once that buffer is full.
    func standbyRelay(onPort port: Int) throws -> ToolProcess {
        let server = ToolProcess.binDirectory.appendingPathComponent("p22p-server").path
        let standby = try ToolProcess(executable: "/bin/sh", ["-c", "read go && exec \"$0\" --listen 127.0.0.1:\(port)", server],
                                      interactive: true)
        adopt(standby)
        return standby
    }

    /// Starts a standby relay; returns it once it listens.
    func start(_ standby: ToolProcess) async throws -> ToolProcess {
        standby.type("go")
        try await standby.waitForLine(containing: "relay listening")
        return standby
    }

    /// Keeps a process started elsewhere (a restarted relay) in the list to stop.
    func adopt(_ process: ToolProcess) { processes.append(process) }

    /// Where a program from Debian's packages is; skips the test if it is missing.
    static func installed(_ name: String, package: String? = nil) throws -> String {
        for directory in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw XCTSkip("\(name) is not installed (apt-get install \(package ?? name); .ci/run does)")
    }
}
