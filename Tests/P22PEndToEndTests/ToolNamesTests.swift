import Foundation
import XCTest

/// The three tools say which version and protocol they are, and the `p22p`
/// binary is each of them when started under its name, which is how
/// `make install` installs them (one binary, two links).
final class ToolNamesTests: ProcessTestCase {
    private let versionLine = "0.1.0 (protocol p22p.v1, revision 3)"

    func testEveryToolPrintsItsVersionAndProtocol() async throws {
        for tool in ["p22p", "p22p-server", "p22p-up"] {
            let process = try run(tool, ["--version"])
            let status = try await process.waitForExit()
            try await process.waitForLine(containing: versionLine)
            XCTAssertEqual(status, 0, "\(tool) --version: \(process.output)")
        }
    }

    func testThePeerBinaryIsEveryToolByTheNameItIsStartedUnder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-links-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = ToolProcess.binDirectory.appendingPathComponent("p22p").path
        for (name, usage) in [("p22p-server", "USAGE: p22p-server <options>"), ("p22p-up", "USAGE: p22p-up <profile>"),
                              ("p22p", "USAGE: p22p <subcommand>")] {
            let link = directory.appendingPathComponent(name).path
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: binary)
            let help = try ToolProcess(executable: link, ["--help"])
            adopt(help)
            try await help.waitForLine(containing: usage)
            let status = try await help.waitForExit()
            XCTAssertEqual(status, 0, "\(name) --help, through a link to p22p:\n\(help.output)")
        }
        // Not only the help: a relay started through the link serves members.
        let relayLink = directory.appendingPathComponent("p22p-server").path
        let relay = try ToolProcess(executable: relayLink, ["--listen", "127.0.0.1:0"])
        adopt(relay)
        try await relay.waitForLine(containing: "listening")
    }
}
