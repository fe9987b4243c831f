import Logging
@testable import P22PLogging
import XCTest

/// Text from the network cannot forge log lines or drive the terminal.
final class LogLineTests: XCTestCase {
    func testControlCharactersAreEscaped() {
        XCTAssertEqual(LogText.escapingControls("peer left\n2026-11-30T12:00:00Z info relay is safe"),
                       "peer left\\u{A}2026-11-30T12:00:00Z info relay is safe")
        XCTAssertEqual(LogText.escapingControls("\u{1B}[31mred"), "\\u{1B}[31mred")
        XCTAssertEqual(LogText.escapingControls("evil\u{202E}txt.exe"), "evil\\u{202E}txt.exe", "a bidi override")
        XCTAssertEqual(LogText.escapingControls("tab\there"), "tab\\u{9}here")
    }

    func testOrdinaryTextIsUntouched() {
        for text in ["home-pc", "groupe été", "名前", "emoji 🙂", "quotes \"and\" \\backslashes"] {
            XCTAssertEqual(LogText.escapingControls(text), text)
        }
    }

    func testMessageAndMetadataOfAnEventAreEscaped() {
        let event = LogEvent(level: .info, message: "member left", metadata: ["reason": "bye\r\nforged"],
                             source: "test", file: #fileID, function: #function, line: #line)
        let line = LogLine(event: event, handlerMetadata: ["name": "a\u{7}b"])
        XCTAssertEqual(line.message, "member left")
        XCTAssertEqual(line.metadata.map(\.value), ["a\\u{7}b", "bye\\u{D}\\u{A}forged"])
    }
}
