import ArgumentParser
import Foundation
import P22PCommandLine
import P22PDaemon
import P22PProfile
import P22PWire

/// `p22p-up status PROFILE`: asks the daemon running PROFILE through its
/// status endpoint and prints what it says.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p22p-up status",
        abstract: "Show the groups, peers and forwards of a running p22p-up, from its status endpoint.",
        discussion: """
            Reads PROFILE for its `status: { listen: ... }` and asks the daemon there for
            /status.json. Prints one table (groups, peers, forwards, with state and byte
            counts), or the JSON itself with --json. Exits 1 if the profile has no status
            endpoint or no daemon answers on it. See p22p-up(1).
            """,
        version: P22PVersion.withProtocol)

    @Argument(help: "The profile the daemon runs.") var profile: String

    @Flag(name: .long, help: "Print /status.json as the daemon sent it.")
    var json = false

    func run() throws {
        let loaded: LoadedProfile
        do {
            loaded = try ProfileParser.load(path: profile, defaultName: HostName.memberName)
        } catch {
            throw CommandError.located(error.description)
        }
        guard let status = loaded.profile.status else {
            throw CommandError.failed("\(profile) has no status endpoint; add `status: { listen: 127.0.0.1:PORT }` and restart p22p-up")
        }
        let body: [UInt8]
        do {
            body = try StatusClient.get("/status.json", from: status.listen)
        } catch {
            throw CommandError.failed("no p22p-up answers on \(status.listen) (\(error)); is it running with \(profile)?")
        }
        if json {
            FileHandle.standardOutput.write(Data(body))
            if body.last != UInt8(ascii: "\n") { print() }
            return
        }
        let document: StatusDocument
        do {
            document = try StatusDocument.decoder.decode(StatusDocument.self, from: Data(body))
        } catch {
            throw CommandError.failed("what answers on \(status.listen) is not p22p-up's status (\(error))")
        }
        print(StatusTable.render(document))
    }
}
