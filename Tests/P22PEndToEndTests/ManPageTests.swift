import Foundation
import XCTest

/// The man pages are lint-clean and document every option `--help` shows.
final class ManPageTests: XCTestCase {
    private let pages = [("p22p-up", "man/p22p-up.1"), ("p22p", "man/p22p.1"), ("p22p-server", "man/p22p-server.8")]

    private func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testPagesAreLintClean() throws {
        let mandoc = ["/usr/bin/mandoc", "/usr/local/bin/mandoc"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try XCTUnwrap(mandoc, "mandoc is not installed (.ci/run installs it: apt-get install mandoc)")
        for page in pages.map(\.1) + ["man/p22p.yaml.5"] {
            let (_, output) = try run(path, ["-T", "lint", "-W", "warning", repositoryRoot.appendingPathComponent(page).path])
            XCTAssertEqual(output, "", "\(page) is not lint-clean")
        }
    }

    func testEveryHelpOptionIsDocumented() throws {
        for (tool, page) in pages {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent(page), encoding: .utf8)
            var commands = [[String]()]
            if tool == "p22p" { commands = [["create"], ["join"], ["shell"], ["ping"], ["peers"], ["reserve"], ["extend"]] }
            for command in commands {
                let (_, help) = try run(ToolProcess.binDirectory.appendingPathComponent(tool).path, command + ["--help"])
                let options = Set(help.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == "[" || $0 == "]" })
                    .filter { $0.hasPrefix("--") && $0.count > 2 && $0 != "--help" }
                    .map { String($0.prefix { $0.isLetter || $0.isNumber || $0 == "-" }) })
                XCTAssertFalse(options.isEmpty && command != ["shell"], "\(tool) \(command) --help lists no options")
                for subcommand in command {
                    XCTAssertTrue(containsWord(text, subcommand, wholeWord: true), "\(page) does not document the \(subcommand) subcommand")
                }
                for option in options {
                    // roff writes a hyphen as \- or \-\-; accept either spelling.
                    let name = option.dropFirst(2)
                    let found = ["--\(name)", "\\-\\-\(name)", "Fl \\-\(name)", "Fl -\(name)"].contains { containsWord(text, $0) }
                    XCTAssertTrue(found, "\(page) does not document \(option) of \(tool) \(command.joined(separator: " "))")
                }
            }
        }
    }
}

/// Whether `text` mentions `word` not as the start of a longer name
/// (`--log` is not documented by `--log-level`); with `wholeWord`, not as
/// the end of one either (`ping` is not documented by `mapping`).
private func containsWord(_ text: String, _ word: String, wholeWord: Bool = false) -> Bool {
    func isNamePart(_ character: Character) -> Bool { character.isLetter || character.isNumber || character == "-" || character == "\\" }
    var rest = text[...]
    while let range = rest.range(of: word) {
        let after = range.upperBound < text.endIndex ? text[range.upperBound] : " "
        let before = range.lowerBound > text.startIndex ? text[text.index(before: range.lowerBound)] : " "
        if !isNamePart(after), !wholeWord || !isNamePart(before) { return true }
        rest = text[range.upperBound...]
    }
    return false
}
