import Foundation
import Logging
import NIOCore
import NIOPosix
import P22PClient
import P22PCrypto
import P22PTransport
import P22PWire

/// The interactive command loop: reads a line, runs it, prints the answer.
/// Commands run one at a time on the caller's thread and wait for their
/// network work; network events arrive on NIO's thread and are printed as
/// they happen.
public final class Shell {
    public enum Outcome { case keepGoing, exit }

    private let console: Console
    private let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let name: String
    private let logger: Logger
    private let readPassword: (String) throws -> String
    private let tls: TLSOptions
    private let identity: MemberIdentity
    private var server: ServerURL?
    private var session: GroupSession?
    private var group: String?
    private var allowList = AllowList()

    public init(console: Console, name: String, tls: TLSOptions = TLSOptions(),
                identity: MemberIdentity = MemberConfiguration.processIdentity, readPassword: @escaping (String) throws -> String) {
        self.console = console
        self.name = name
        self.tls = tls
        self.identity = identity
        self.readPassword = readPassword
        self.logger = Logger(label: "p22p") { _ in ConsoleEventLogHandler(console: console, logLevel: .info) }
    }

    /// Runs until `exit`, `quit` or end of input; returns the exit status.
    public func run(nextLine: () -> String?) -> Int32 {
        console.say("p22p \(P22PVersion.current) - type help")
        while true {
            console.showPrompt()
            guard let line = nextLine() else { break }
            console.promptConsumed()
            if execute(line) == .exit { break }
        }
        leaveGroup(quietly: true)
        try? loops.syncShutdownGracefully()
        return 0
    }

    /// What Tab completes to: the commands as the first word, peer names
    /// (and commands, for `help`) after it.
    public func completions(firstWord: Bool) -> [String] {
        let commands = CommandCatalog.commands.flatMap(\.names)
        guard !firstWord else { return commands }
        let peers = (try? session?.withMember { $0.peerStatus() }.wait().map(\.peer.name)) ?? []
        return peers + commands
    }

    /// Runs one command line; every failure is one line, never a crash.
    public func execute(_ line: String) -> Outcome {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let command = words.first else { return .keepGoing }
        do {
            return try run(command, Array(words.dropFirst()))
        } catch let error as ShellError {
            console.say(error.description)
        } catch let error as MemberError {
            console.say("error: \(error)")
        } catch {
            console.say("error: \(error)")
        }
        return .keepGoing
    }

    private func run(_ command: String, _ arguments: [String]) throws -> Outcome {
        switch command {
        case "exit", "quit":
            try expect(arguments, count: 0...0, command)
            return .exit
        case "help": help(arguments)
        case "connect": try connect(arguments)
        case "disconnect":
            try expect(arguments, count: 0...0, command)
            guard server != nil else { throw ShellError.failed("not connected") }
            leaveGroup(quietly: false)
            console.say("disconnected from \(server!)")
            server = nil
        case "create", "join": try enter(command, arguments)
        case "leave":
            try expect(arguments, count: 0...0, command)
            _ = try requireSession()
            leaveGroup(quietly: false)
        case "relay": try relay(arguments)
        case "allow", "deny": try changeAllowList(command, arguments)
        case "list": try list(arguments)
        case "peers": try peers(arguments)
        case "ping": try ping(arguments)
        case "cid", "whoami":
            try expect(arguments, count: 0...0, command)
            let session = try requireSession()
            guard let me = try session.identity().wait() else { throw ShellError.failed(Self.linkDown) }
            console.say("CID \(me.cid), name \(me.name), group \(group ?? "?")")
        case "reserve": try reserve(arguments)
        case "extend": try extend(arguments)
        default:
            throw ShellError.failed("unknown command \"\(command)\"; type help for the list")
        }
        return .keepGoing
    }

    // MARK: Commands

    private func help(_ arguments: [String]) {
        guard let topic = arguments.first else {
            console.say(CommandCatalog.overview)
            return
        }
        if topic == "usage" {
            console.say(CommandCatalog.guide)
        } else if let entry = CommandCatalog.find(topic) {
            console.say("usage: \(entry.usage)\n\(entry.summary)" + (entry.details.isEmpty ? "" : "\n\(entry.details)"))
        } else {
            console.say("no command \"\(topic)\"; type help for the list")
        }
    }

    private func connect(_ arguments: [String]) throws {
        try expect(arguments, count: 0...1, "connect")
        guard session == nil else { throw ShellError.failed("in group \(group ?? "?"): leave first") }
        let url: ServerURL
        do {
            url = try arguments.first.map { text throws(AddressError) in try ServerURL(parsing: text) } ?? .default
        } catch {
            throw ShellError.usage("connect", "\(error)")
        }
        let reachable = ClientBootstrap(group: loops).connectTimeout(.seconds(5)).connect(host: url.host, port: url.port)
        do {
            let channel = try reachable.wait()
            try? channel.close().wait()
        } catch {
            logger.debug("connecting to \(url.address) failed: \(error)")
            throw ShellError.failed("cannot connect to \(url): \(describeConnectFailure(to: url.address, error))")
        }
        server = url
        console.say("connected to \(url); now create or join a group")
    }

    private func enter(_ command: String, _ arguments: [String]) throws {
        try expect(arguments, count: command == "create" ? 1...2 : 1...1, command)
        guard let server else { throw ShellError.failed("not connected: use connect [URL] first") }
        guard session == nil else { throw ShellError.failed("already in group \(group ?? "?"): leave first") }
        let groupName = arguments[0]
        do { try Names.validateGroup(groupName) } catch { throw ShellError.usage(command, "\(error)") }
        let reservation = arguments.count == 2 ? try Self.load(arguments[1]) : nil
        let keyring = GroupKeyring(password: try readPassword(groupName), group: groupName)
        var configuration = GroupSessionConfiguration(server: server, group: groupName, name: name,
                                                      policy: command == "create" ? .create : .join, allowList: allowList, tls: tls)
        configuration.member.reservation = reservation
        // Report a refused create or join at once; once in, rejoin after every outage.
        configuration.giveUpBeforeFirstJoin = true
        configuration.waitForCreatorAtStart = false
        let console = self.console
        configuration.member.identity = identity
        let session = GroupSession(configuration: configuration, keyring: keyring, eventLoop: loops.next(), logger: logger) { event in
            switch event {
            case .linkLost(let reason):
                console.event("lost the relay: \(reason); reconnecting (forwards keep listening)")
            case .joined(let me, _, again: true):
                console.event("back in group \(groupName) as \(me.name) (CID \(me.cid))")
            default:
                break
            }
        }
        try session.start().wait()
        do {
            try session.firstJoin.wait()
        } catch {
            _ = try? session.stop().wait()
            throw error
        }
        self.session = session
        group = groupName
    }

    private func reserve(_ arguments: [String]) throws {
        try expect(arguments, count: 3...3, "reserve")
        guard let server else { throw ShellError.failed("not connected: use connect [URL] first") }
        let mode = arguments[1].lowercased()
        guard arguments[0].hasPrefix("#") else { throw ShellError.usage("reserve", "only names starting with '#' can be reserved") }
        guard mode == "all" || mode == "sco" else { throw ShellError.usage("reserve", "the mode is ALL or SCO") }
        let reservation = try ReservationClient.reserve(group: arguments[0], creatorOnly: mode == "sco", server: server,
                                                        tls: tls, on: loops.next()).wait()
        try Self.save(reservation, to: arguments[2])
        console.say("reserved \(reservation.group) (\(reservation.mode)) until \(reservation.expiryDescription); key saved to \(arguments[2])")
    }

    private func extend(_ arguments: [String]) throws {
        try expect(arguments, count: 1...1, "extend")
        guard let server else { throw ShellError.failed("not connected: use connect [URL] first") }
        let renewed = try ReservationClient.extend(try Self.load(arguments[0]), server: server, tls: tls, on: loops.next()).wait()
        try Self.save(renewed, to: arguments[0])
        console.say("extended \(renewed.group) until \(renewed.expiryDescription)")
    }

    static func load(_ path: String) throws -> Reservation {
        do { return try ReservationFile.load(path) } catch { throw ShellError.failed(error.description) }
    }

    static func save(_ reservation: Reservation, to path: String) throws {
        do { try ReservationFile.save(reservation, to: path) } catch { throw ShellError.failed(error.description) }
    }

    private func relay(_ arguments: [String]) throws {
        try expect(arguments, count: 2...3, "relay")
        let session = try requireSession()
        let spec: ForwardSpec
        do {
            let peer = try PeerReference(parsing: arguments[0])
            let local = arguments.count == 3 ? try AddressParts.port(arguments[1], in: arguments[1], allowZero: true) : 0
            let (target, ipProtocol) = try AllowList.entry(parsing: arguments[arguments.count - 1])
            spec = ForwardSpec(peer: peer, listen: TargetAddress(host: "127.0.0.1", port: local), target: target, ipProtocol: ipProtocol)
        } catch {
            throw ShellError.usage("relay", "\(error)")
        }
        guard try session.withMember({ $0.peerStatus() }).wait().contains(where: { $0.peer.matches(spec.peer) }) else {
            throw ShellError.failed("no member \(spec.peer) in group \(group ?? "?") (see peers)")
        }
        _ = try session.addForward(spec).wait()
    }

    private func changeAllowList(_ command: String, _ arguments: [String]) throws {
        if command == "deny" { try expect(arguments, count: 1...Int.max, command) }
        let targets: [(TargetAddress, IPProtocol)]
        do {
            targets = try arguments.map { text throws(AddressError) in try AllowList.entry(parsing: text) }
        } catch {
            throw ShellError.usage(command, "\(error)")
        }
        for (target, ipProtocol) in targets {
            if command == "allow" { allowList.allow(target, ipProtocol) } else { allowList.deny(target, ipProtocol) }
        }
        let list = allowList
        if let session { try session.setAllowList(list).wait() }
        console.say(list.isEmpty ? "nothing is allowed: peers cannot open anything here"
                                 : "allowed: " + list.descriptions.joined(separator: ", "))
    }

    private func list(_ arguments: [String]) throws {
        try expect(arguments, count: 0...0, "list")
        let session = try requireSession()
        let forwards = try session.status().wait().forwards
        let streams = try session.withMember { $0.streams() }.wait()
        let flows = try session.withMember { $0.flows() }.wait()
        var lines = forwards.isEmpty ? ["no forwards"] : forwards.map { forward in
            let listen = readableAddress(host: forward.spec.listen.host, port: forward.port)
            guard let udp = forward.datagrams else {
                let traffic = forward.traffic
                return "forward \(listen) -> \(forward.spec.peer) \(forward.spec.target): \(forward.state.rawValue), "
                    + "\(traffic.open) connection(s) open (\(traffic.opened) in all), \(traffic.bytesIn) bytes in, \(traffic.bytesOut) bytes out"
            }
            return "forward \(listen)/udp -> \(forward.spec.peer) \(forward.spec.target)/udp: \(forward.state.rawValue), \(udp.flows) flow(s), "
                + "\(udp.datagramsToPeer) datagrams to the peer (\(udp.bytesToPeer) bytes), \(udp.datagramsFromPeer) from it (\(udp.bytesFromPeer) bytes), "
                + "dropped: \(udp.droppedDescription)"
        }
        if streams.isEmpty {
            lines.append("no open streams")
        } else {
            var rows = [["STREAM", "DIR", "PEER", "TARGET", "BYTES IN", "BYTES OUT", "AGE"]]
            for stream in streams {
                rows.append(["\(stream.id)", stream.outgoing ? "out" : "in", stream.peer, stream.target.description,
                             "\(stream.bytesIn)", "\(stream.bytesOut)", String(format: "%.1fs", Double(stream.age.nanoseconds) / 1e9)])
            }
            lines += Self.table(rows)
        }
        if !flows.isEmpty {
            var rows = [["FLOW", "DIR", "PEER", "TARGET", "FROM", "DATAGRAMS IN", "DATAGRAMS OUT", "DROPPED", "IDLE"]]
            for flow in flows {
                // On the forward's side the counts are the whole forward's (see the forward line).
                rows.append(["\(flow.id)", flow.outgoing ? "out" : "in", flow.peer, "\(flow.target)/udp", flow.origin,
                             flow.outgoing ? "-" : "\(flow.stats.datagramsFromPeer)", flow.outgoing ? "-" : "\(flow.stats.datagramsToPeer)",
                             flow.outgoing ? "-" : flow.stats.droppedDescription, String(format: "%.1fs", Double(flow.idle.nanoseconds) / 1e9)])
            }
            lines += Self.table(rows)
        }
        console.say(lines.joined(separator: "\n"))
    }

    private func peers(_ arguments: [String]) throws {
        try expect(arguments, count: 0...0, "peers")
        let session = try requireSession()
        let statuses = try session.withMember { $0.peerStatus() }.wait()
        guard !statuses.isEmpty else {
            console.say("no other members in group \(group ?? "?")")
            return
        }
        let rows = [["CID", "NAME", "SESSION"]] + statuses.map { ["\($0.peer.cid)", $0.peer.name, $0.sessionUp ? "up" : "-"] }
        console.say(Self.table(rows).joined(separator: "\n"))
    }

    private func ping(_ arguments: [String]) throws {
        try expect(arguments, count: 1...1, "ping")
        let session = try requireSession()
        let peer: PeerReference
        do { peer = try PeerReference(parsing: arguments[0]) } catch { throw ShellError.usage("ping", "\(error)") }
        var times: [Double] = []
        for _ in 0..<3 {
            times.append(Double(try session.withMember { $0.ping(peer) }.wait().nanoseconds) / 1e6)
        }
        console.say(PingReport.line(peer: arguments[0], milliseconds: times))
    }

    // MARK: Helpers

    /// Left-aligned columns, two spaces apart.
    static func table(_ rows: [[String]]) -> [String] {
        let widths = rows.reduce(into: [Int]()) { widths, row in
            for (index, cell) in row.enumerated() {
                if index < widths.count { widths[index] = max(widths[index], cell.count) } else { widths.append(cell.count) }
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    private static let linkDown = "the link to the relay is down; it reconnects by itself"

    private func requireSession() throws -> GroupSession {
        guard server != nil else { throw ShellError.failed("not connected: use connect [URL] first") }
        guard let session else { throw ShellError.failed("not in a group: create or join one first") }
        return session
    }

    private func leaveGroup(quietly: Bool) {
        guard let session else { return }
        _ = try? session.stop().wait()
        if !quietly { console.say("left group \(group ?? "?")") }
        self.session = nil
        group = nil
    }

    private func expect(_ arguments: [String], count: ClosedRange<Int>, _ command: String) throws {
        guard count.contains(arguments.count) else {
            throw ShellError.usage(command, arguments.count < count.lowerBound ? "missing arguments" : "too many arguments")
        }
    }
}

/// What went wrong with a command, as one line.
enum ShellError: Error, CustomStringConvertible {
    case usage(String, String)
    case failed(String)

    var description: String {
        switch self {
        case .usage(let command, let problem):
            "\(command): \(problem); usage: \(CommandCatalog.find(command)?.usage ?? command)"
        case .failed(let message):
            "error: \(message)"
        }
    }
}

extension Peer {
    func matches(_ reference: PeerReference) -> Bool {
        switch reference {
        case .cid(let cid): self.cid == cid
        case .name(let name): self.name == name
        }
    }
}
