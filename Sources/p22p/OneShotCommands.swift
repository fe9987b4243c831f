import ArgumentParser
import Foundation
import Logging
import P22PClient
import P22PCommandLine
import P22PLogging

/// A short-lived member name for one-shot commands.
private var oneShotName: String { "\(HostName.memberName.prefix(55))-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))" }

struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping", abstract: "Join GROUP briefly and measure the round trip to PEER through the relay.",
        discussion: "Prints min/avg/max of three end-to-end pings in milliseconds.")

    @Argument(help: "The group both are in.") var group: String
    @Argument(help: "The peer: member name or CID.") var peer: String
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        var joiner = GroupJoiner(group: group, options: options)
        joiner.defaultName = oneShotName
        let reference: PeerReference
        do { reference = try PeerReference(parsing: peer) } catch { throw CommandError.usage("\(error)") }
        let configuration = try joiner.configuration(mode: .join)
        LogBackend.stdout(.text).bootstrap(level: min(try joiner.logLevel(), .warning))
        let member = try await joiner.join(configuration, logger: Logger(label: "p22p"))
        defer { _ = member.leave() }
        var times: [Double] = []
        do {
            for _ in 0..<3 { times.append(Double(try await member.ping(reference).get().nanoseconds) / 1e6) }
        } catch {
            throw CommandError.failed("\(error)")
        }
        print(String(format: "ping %@: min/avg/max = %.2f/%.2f/%.2f ms", peer, times.min()!, times.reduce(0, +) / 3, times.max()!))
    }
}

struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers", abstract: "Join GROUP briefly and list its members.",
        discussion: "Prints one line per member: CID and name.")

    @Argument(help: "The group to list.") var group: String
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        var joiner = GroupJoiner(group: group, options: options)
        joiner.defaultName = oneShotName
        let configuration = try joiner.configuration(mode: .join)
        LogBackend.stdout(.text).bootstrap(level: min(try joiner.logLevel(), .warning))
        let member = try await joiner.join(configuration, logger: Logger(label: "p22p"))
        let peers = try await member.peers().get()
        _ = try? await member.leave().get()
        if peers.isEmpty { print("no other members in group \(group)") }
        for peer in peers { print("\(peer.cid)\t\(peer.name)") }
    }
}

struct ReserveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reserve", abstract: "Reserve a '#' group name and save its key file (needs a relay that supports reservations).")

    @Argument(help: "The '#' group name to reserve.") var group: String
    @Option(name: .long, help: ArgumentHelp("all (anyone may talk to anyone) or sco (creator only).", valueName: "MODE")) var mode: String = "all"
    @Option(name: .long, help: ArgumentHelp("Where to write the key file.", valueName: "FILE")) var out: String
    @Option(name: .long, help: ArgumentHelp("Relay to ask.", valueName: "URL")) var server: String = ServerURL.default.description

    func run() async throws {
        throw CommandError.failed("not supported by this server (\(server)): reservations are not available yet")
    }
}

struct ExtendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extend", abstract: "Extend a reservation while it is valid (needs a relay that supports reservations).")

    @Argument(help: "The key file from p22p reserve.") var keyFile: String
    @Option(name: .long, help: ArgumentHelp("Relay to ask.", valueName: "URL")) var server: String = ServerURL.default.description

    func run() async throws {
        throw CommandError.failed("not supported by this server (\(server)): reservations are not available yet")
    }
}
