import ArgumentParser
import Foundation
import P22PClient
import P22PCommandLine

/// How to reach the relay and who to be: shared by every subcommand that
/// joins a group.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Relay to connect to: ws://HOST[:PORT], wss://HOST[:PORT], tcp://HOST:PORT or tls://HOST:PORT. Repeat it to give relays to fail over to, in order of preference.", valueName: "URL"))
    var server: [String] = [ServerURL.default.description]

    @Option(name: .long, help: ArgumentHelp("Member name in the group (default: this host's name; for ping and peers a fresh host-XXXX).", valueName: "NAME"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("Read the group password from the first line of FILE (else $P22P_PASSWORD, else a prompt).", valueName: "FILE"))
    var passwordFile: String?

    @Option(name: .long, help: ArgumentHelp("Reach the relay through a proxy: http://[USER:PASSWORD@]HOST:PORT (HTTP CONNECT) or socks5://[USER:PASSWORD@]HOST:PORT; none to ignore https_proxy, http_proxy and all_proxy (default: those variables, as curl reads them).", valueName: "URL"))
    var proxy: String?

    @Option(name: .long, help: ArgumentHelp("Trust only the CA certificates in FILE for wss:// and tls:// relays.", valueName: "FILE"))
    var caFile: String?

    @Option(name: .long, help: ArgumentHelp("Require the wss:// or tls:// relay's certificate to have this SHA-256 (64 hex digits).", valueName: "HEX"))
    var pinSha256: String?

    @Option(name: .long, help: ArgumentHelp("This member's static key, so peers can pin it (created if missing; default: a new key per run).", valueName: "FILE"))
    var identity: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL"))
    var logLevel: String = "info"
}

/// `create` and `join`: the connection plus what to expose and forward.
struct MemberOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: ArgumentHelp("Let peers open TARGET on this machine: PORT (127.0.0.1:PORT) or HOST:PORT, TCP only; with /udp at the end (9000/udp), UDP only. Repeatable; default: nothing.", valueName: "TARGET"))
    var allow: [String] = []

    @Option(name: .long, help: ArgumentHelp("Forward a local port to a peer: \(ForwardSpec.syntax). LOCAL 0 picks a free port. Repeatable.", valueName: "SPEC"))
    var relay: [String] = []

    @Flag(name: .long, help: "Compress the data of the --relay forwards (zlib, per chunk; worth it for text, not for encrypted or compressed data).")
    var compress = false

    @Flag(name: .long, help: "Exit (status 1) when the link to the relay drops, instead of reconnecting and rejoining.")
    var noReconnect = false

    @Option(name: .long, help: ArgumentHelp("How long open connections wait for a peer, or the relay, to come back before they are reset (default: 30; 0: reset at once).", valueName: "SECONDS"))
    var resumeTimeout: Double = 30

    @Option(name: .long, help: ArgumentHelp("End a UDP flow (one local program's address) after this long without a datagram either way (default: 60).", valueName: "SECONDS"))
    var udpIdleTimeout: Double = 60
}
