import Foundation
import XCTest

/// The command loop on a real terminal: script(1) runs p22p on a
/// pseudo-terminal it made, and the test types into it as a person would.
final class LineEditingTests: ProcessTestCase {
    private func count(_ text: String, in output: String) -> Int { output.components(separatedBy: text).count - 1 }

    private func waitFor(_ text: String, times: Int, in loop: ToolProcess, timeout: TimeInterval = 10) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while count(text, in: loop.output) < times {
            guard Date() < deadline else {
                XCTFail("\"\(text)\" did not appear \(times) time(s); output:\n\(loop.output)")
                return
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    func testUpArrowRepeatsACommandCtrlCDropsTheLineAndHistoryIsKept() async throws {
        let script = try Self.installed("script", package: "bsdutils")
        let home = try profiles().directory.path
        let p22p = ToolProcess.binDirectory.appendingPathComponent("p22p").path
        let answer = "not connected: use connect [URL] first"
        // script(1) runs the command through $SHELL -c. The shell must exec
        // p22p: a shell left waiting in the same process group gets Ctrl-C's
        // SIGINT too, and dash then exits 130 once p22p has ended.
        let loop = try ToolProcess(executable: script, ["-qfec", "exec \(p22p) --name tester", "/dev/null"],
                                   environment: ["HOME": home, "TERM": "xterm", "XDG_STATE_HOME": "", "SHELL": "/bin/sh"], interactive: true)
        adopt(loop)
        try await loop.waitForLine(containing: "type help")

        // Each key is typed once the prompt shows, as a person would: the
        // line editor reads the terminal only while a prompt is up.
        let prompt = "(p22p) "
        try await waitFor(prompt, times: 1, in: loop)
        loop.press("peers\r")
        try await waitFor(answer, times: 1, in: loop)
        try await waitFor(prompt, times: 2, in: loop)
        // Up-arrow brings the last line back; Enter runs it again.
        loop.press("\u{1B}[A\r")
        try await waitFor(answer, times: 2, in: loop)
        try await waitFor(prompt, times: 3, in: loop)
        // Ctrl-C drops a half-typed line and the loop goes on.
        loop.press("disconn")
        try await waitFor("disconn", times: 1, in: loop)
        loop.press("\u{03}")
        try await waitFor("^C", times: 1, in: loop)
        try await waitFor(prompt, times: 4, in: loop)
        // Tab completes a command's name.
        loop.press("pee\t\r")
        try await waitFor(answer, times: 3, in: loop)
        try await waitFor(prompt, times: 5, in: loop)
        XCTAssertFalse(loop.output.contains("unknown command"), loop.output)
        // Ctrl-D on an empty line leaves.
        loop.press("\u{04}")
        let status = try await loop.waitForExit(timeout: 10)
        XCTAssertEqual(status, 0, loop.output)
        let history = try String(contentsOfFile: home + "/.local/state/p22p/history", encoding: .utf8)
        XCTAssertTrue(history.contains("peers"), history)
        XCTAssertFalse(history.contains("disconn"), "a dropped line is not history: \(history)")
    }
}
