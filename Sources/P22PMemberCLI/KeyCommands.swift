import ArgumentParser
import Foundation
import P22PClient
import P22PCommandLine
import P22PCrypto

/// `p22p password`: a new group password, so nobody has to invent one.
struct PasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password", abstract: "Print a new random group password (128 bits).",
        discussion: "Example: p22p password > demo.pass && chmod 600 demo.pass")

    func run() {
        print(PasswordGenerator.generate())
    }
}

/// `p22p identity FILE`: make or show a member's static key.
struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "Create an identity file if missing and print its public key.",
        discussion: """
            Use the file with --identity FILE or identity_file: in a profile; give the printed key to
            peers, who can pin it with peer_key: in their forwards.
            """)

    @Argument(help: "The identity file (created 0600 if it does not exist).") var file: String

    func run() throws {
        print(try MemberIdentity.fromCommandLine(file).publicKeyText)
    }
}
