import Foundation
import NIOConcurrencyHelpers

/// One of the built executables (`p22p`, `p22p-server`) run as a real
/// process, with its combined output collected for assertions.
final class ToolProcess: @unchecked Sendable {  // output in locked boxes; Process is only started and signalled
    let process = Process()
    private let collected = NIOLockedValueBox("")
    private let errors = NIOLockedValueBox("")

    /// Where `swift build` put the executables: next to the test bundle.
    static let binDirectory: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1, !FileManager.default.fileExists(atPath: url.appendingPathComponent("p22p-server").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()

    private var input: Pipe?

    /// `namespace` runs the tool inside that network namespace (`ip netns exec`,
    /// which execs it: the process is the tool itself).
    convenience init(_ tool: String, _ arguments: [String], environment: [String: String] = [:], interactive: Bool = false,
                     namespace: String? = nil) throws {
        try self.init(executable: ToolProcess.binDirectory.appendingPathComponent(tool).path, arguments, environment: environment,
                      interactive: interactive, namespace: namespace)
    }

    /// Any program (a proxy from Debian's packages, say), not only ours.
    init(executable path: String, _ arguments: [String], environment: [String: String] = [:], interactive: Bool = false,
         namespace: String? = nil) throws {
        if let namespace {
            process.executableURL = URL(fileURLWithPath: NetworkNamespace.ipCommand ?? "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "P22P_PASSWORD")
        // The machine's own proxy settings must not send loopback tests
        // elsewhere; a test that wants a proxy passes one.
        for name in ["http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"] { env.removeValue(forKey: name) }
        env.merge(environment) { _, new in new }
        process.environment = env
        if interactive {
            let input = Pipe()
            self.input = input
            process.standardInput = input
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let collected = self.collected
        let errors = self.errors
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            let text = String(decoding: data, as: UTF8.self)
            errors.withLockedValue { $0 += text }
            collected.withLockedValue { $0 += text }
        }
        try process.run()
    }

    var output: String { collected.withLockedValue { $0 } }

    /// Types a line into the process's standard input.
    func type(_ line: String) {
        input?.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Sends keys as they are, without a newline (arrow keys, Ctrl-C, Tab).
    func press(_ keys: String) {
        input?.fileHandleForWriting.write(Data(keys.utf8))
    }

    /// Ends standard input (Ctrl-D).
    func endInput() {
        try? input?.fileHandleForWriting.close()
    }

    /// Types `line` and waits for output containing `expected` that was not there before.
    @discardableResult
    func command(_ line: String, expect expected: String, timeout: TimeInterval = 15) async throws -> String {
        let before = output.count
        type(line)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let fresh = String(output.dropFirst(before))
            if fresh.contains(expected) { return fresh }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw SocketError("after \"\(line)\" no \"\(expected)\" within \(timeout) s; got:\n\(output.dropFirst(before))")
    }
    var standardError: String { errors.withLockedValue { $0 } }

    /// Waits for a line containing `text`; returns that line.
    @discardableResult
    func waitForLine(containing text: String, timeout: TimeInterval = 15) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if !process.isRunning, !output.contains(text) {
                try await Task.sleep(nanoseconds: 100_000_000)
                if let line = output.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
                throw SocketError("\(tool) exited (\(process.terminationStatus)) without printing \"\(text)\"; output:\n\(output)")
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw SocketError("\(tool) did not print \"\(text)\" within \(timeout) s; output:\n\(output)")
    }

    /// Waits for the process to end; nil if it is still running after `timeout`.
    func waitForExit(timeout: TimeInterval = 10) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Ends the process if it is still running (tests clean up after themselves).
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private var tool: String {
        process.arguments?.first == "netns" ? (process.arguments?[3]).map { URL(fileURLWithPath: $0).lastPathComponent } ?? "process"
                                             : process.executableURL?.lastPathComponent ?? "process"
    }

    /// Resident memory and open descriptors, from /proc.
    var usage: (rssKiB: Int, descriptors: Int) {
        let pid = process.processIdentifier
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? 0
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (rss, descriptors)
    }
}

/// A relay process on a free loopback port.
final class RelayProcess {
    let tool: ToolProcess
    let port: Int

    init(extraArguments: [String] = []) async throws {
        tool = try ToolProcess("p22p-server", ["--listen", "127.0.0.1:0"] + extraArguments)
        let line = try await tool.waitForLine(containing: "relay listening")
        // The address reads 127.0.0.1:PORT in text and JSON logs alike.
        let match = line.range(of: #"127\.0\.0\.1:[0-9]+"#, options: .regularExpression)
        guard let match, let port = Int(line[match].split(separator: ":")[1]) else {
            throw SocketError("no port in \(line)")
        }
        self.port = port
    }

    var url: String { "ws://127.0.0.1:\(port)" }
}

/// A password file in a fresh temporary directory.
func passwordFile(_ password: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let file = directory.appendingPathComponent("pw")
    try (password + "\n").write(to: file, atomically: true, encoding: .utf8)
    return file.path
}
