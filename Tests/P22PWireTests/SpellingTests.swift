import P22PWire
import XCTest

/// The "did you mean" of unknown commands and profile keys.
final class SpellingTests: XCTestCase {
    func testTyposFindTheirWord() {
        let keys = ["password_file", "password_env", "password", "forwards", "allow", "reservation"]
        XCTAssertEqual(Spelling.closest(to: "pasword_file", among: keys), "password_file")
        XCTAssertEqual(Spelling.closest(to: "fowrards", among: keys), "forwards", "a swap of neighbours is one edit")
        XCTAssertEqual(Spelling.closest(to: "Allow", among: keys), "allow")
        XCTAssertNil(Spelling.closest(to: "listen", among: keys), "nothing close enough")
        XCTAssertEqual(Spelling.suggestion(for: "craete", among: ["create", "join"]), "; did you mean \"create\"?")
        XCTAssertEqual(Spelling.suggestion(for: "xyz", among: ["create", "join"]), "")
        XCTAssertEqual(Spelling.distance("kitten", "sitting"), 3)
        XCTAssertEqual(Spelling.distance("", "abc"), 3)
    }
}
