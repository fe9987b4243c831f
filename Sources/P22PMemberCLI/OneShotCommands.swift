import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PClient
import P22PCrypto
import P22PCommandLine
import P22PLogging
import P22PShell

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
        let configuration = try joiner.briefConfiguration()
        LogBackend.stdout(.text).bootstrap(level: min(try joiner.logLevel(), .warning))
        let session = try await joiner.join(configuration, logger: Logger(label: "p22p"))
        defer { _ = session.stop() }
        var times: [Double] = []
        do {
            for _ in 0..<3 { times.append(Double(try await session.withMember { $0.ping(reference) }.get().nanoseconds) / 1e6) }
        } catch {
            throw CommandError.failed("\(error)")
        }
        print(PingReport.line(peer: peer, milliseconds: times))
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
        let configuration = try joiner.briefConfiguration()
        LogBackend.stdout(.text).bootstrap(level: min(try joiner.logLevel(), .warning))
        let session = try await joiner.join(configuration, logger: Logger(label: "p22p"))
        let peers = try await session.withMember { $0.peers() }.get()
        _ = try? await session.stop().get()
        if peers.isEmpty { print("no other members in group \(group)") }
        for peer in peers { print("\(peer.cid)\t\(peer.name)") }
    }
}

struct ReserveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reserve", abstract: "Reserve a '#' group name on the relay and save its key file.",
        discussion: """
            Only the holder of the key file can create the group (p22p create '#name' --reservation FILE):
            the file holds a creator key that never leaves this machine, and the relay's signature covers
            its public half. Keep the file secret (it is written 0600).
            A reservation lasts 90 days and can be extended while valid (p22p extend FILE).
            --mode sco makes the group creator-only: members can talk to the creator, not to each other.
            """)

    @Argument(help: "The '#' group name to reserve.") var group: String
    @Option(name: .long, help: ArgumentHelp("all (anyone may talk to anyone) or sco (creator only).", valueName: "MODE")) var mode: String = "all"
    @Option(name: .long, help: ArgumentHelp("Where to write the key file.", valueName: "FILE")) var out: String
    @Option(name: .long, help: ArgumentHelp("Relay to ask.", valueName: "URL")) var server: String = ServerURL.default.description
    @Option(name: .long, help: ArgumentHelp("Trust only the CA certificates in FILE for wss:// and tls:// relays.", valueName: "FILE")) var caFile: String?
    @Option(name: .long, help: ArgumentHelp("Require the wss:// or tls:// relay's certificate to have this SHA-256 (64 hex digits).", valueName: "HEX"))
    var pinSha256: String?

    func run() async throws {
        guard mode == "all" || mode == "sco" else { throw CommandError.usage("--mode must be all or sco") }
        guard group.hasPrefix("#") else { throw CommandError.usage("only names starting with '#' can be reserved") }
        let url = try parseServer(server)
        let tls = try TLSOptions.fromCommandLine(caFile: caFile, pinSHA256: pinSha256)
        let reservation = try await perform {
            ReservationClient.reserve(group: group, creatorOnly: mode == "sco", server: url, tls: tls, on: $0)
        }
        try save(reservation, to: out)
        print("reserved \(reservation.group) (\(reservation.mode)) until \(reservation.expiryDescription); key saved to \(out)")
    }
}

struct ExtendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extend", abstract: "Extend a reservation for another 90 days while it is valid; rewrites the key file.")

    @Argument(help: "The key file from p22p reserve.") var keyFile: String
    @Option(name: .long, help: ArgumentHelp("Relay to ask.", valueName: "URL")) var server: String = ServerURL.default.description
    @Option(name: .long, help: ArgumentHelp("Trust only the CA certificates in FILE for wss:// and tls:// relays.", valueName: "FILE")) var caFile: String?
    @Option(name: .long, help: ArgumentHelp("Require the wss:// or tls:// relay's certificate to have this SHA-256 (64 hex digits).", valueName: "HEX"))
    var pinSha256: String?

    func run() async throws {
        let url = try parseServer(server)
        let reservation = try loadReservation(keyFile)
        let tls = try TLSOptions.fromCommandLine(caFile: caFile, pinSHA256: pinSha256)
        let renewed = try await perform { ReservationClient.extend(reservation, server: url, tls: tls, on: $0) }
        try save(renewed, to: keyFile)
        print("extended \(renewed.group) until \(renewed.expiryDescription)")
    }
}

private func parseServer(_ text: String) throws(CommandError) -> ServerURL {
    do { return try ServerURL(parsing: text) } catch { throw .usage("--server \(error)") }
}

private func perform(_ request: (EventLoop) -> EventLoopFuture<Reservation>) async throws -> Reservation {
    let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        return try await request(loops.next()).get()
    } catch let error as MemberError {
        throw error.isConnectFailure ? CommandError.cannotConnect(error.description) : CommandError.failed(error.description)
    }
}

/// Reads a reservation key file, with a clear error if it is not one.
func loadReservation(_ path: String) throws(CommandError) -> Reservation {
    if let warning = ReservationFile.exposureWarning(path) { FileHandle.standardError.write(Data("p22p: warning: \(warning)\n".utf8)) }
    do { return try ReservationFile.load(path) } catch { throw .usage(error.description) }
}

private func save(_ reservation: Reservation, to path: String) throws(CommandError) {
    do { try ReservationFile.save(reservation, to: path) } catch { throw .failed(error.description) }
}
