import Foundation
import P22PClient
import XCTest

/// The warning about a password file other users can read.
final class GroupPasswordTests: XCTestCase {
    func testAnExposedFileIsWarnedAboutOnceWithEveryGroupThatUsesIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-password-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("shared.pass").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("pw\n".utf8), attributes: [.posixPermissions: 0o644]))

        let password = GroupPassword.file(path)
        XCTAssertEqual(password.exposureWarning(groups: ["home", "work"]),
                       "the password file \(path) of groups home, work is readable by other users; run chmod 600 \(path)")
        XCTAssertEqual(password.exposureWarning(group: "home"),
                       "the password file \(path) of group home is readable by other users; run chmod 600 \(path)")
        // Two spellings of one file are one file.
        XCTAssertEqual(GroupPassword.file(directory.path + "/./shared.pass").resolvedFile, password.resolvedFile)
        XCTAssertNotEqual(GroupPassword.file(directory.path + "/other.pass").resolvedFile, password.resolvedFile)

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        XCTAssertNil(password.exposureWarning(groups: ["home", "work"]), "a private file is not warned about")
        XCTAssertNil(GroupPassword.environment("PW").exposureWarning(group: "home"))
    }
}
