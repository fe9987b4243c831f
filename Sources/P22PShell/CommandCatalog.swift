/// Every command of the loop with its usage, a one-line summary and the
/// longer help `help COMMAND` prints. The single source for `help` and for
/// usage lines in error messages.
public struct CommandHelp: Sendable {
    public let names: [String]
    public let usage: String
    public let summary: String
    public let details: String
}

public enum CommandCatalog {
    public static let commands: [CommandHelp] = [
        CommandHelp(names: ["connect"], usage: "connect [URL]", summary: "choose the relay (ws://, wss://, tcp:// or tls://; default ws://127.0.0.1:39453) and check it is reachable",
                    details: "URL is ws://HOST[:PORT], wss://HOST[:PORT], or tcp://HOST:PORT or tls://HOST:PORT for a relay's --listen-tcp port. Nothing is joined yet: create or join a group next.\nExample: connect ws://relay.example.net:39453"),
        CommandHelp(names: ["disconnect"], usage: "disconnect", summary: "leave the group and forget the relay",
                    details: "Closes every forward and stream, then forgets the relay chosen with connect."),
        CommandHelp(names: ["create"], usage: "create NAME [KEYFILE]", summary: "create a group and join it; asks for its password",
                    details: "The password is read without echo, or taken from $P22P_PASSWORD. KEYFILE is a reservation for '#' groups.\nPrints your name and CID.\nExample: create demo"),
        CommandHelp(names: ["join"], usage: "join NAME", summary: "join a group; asks for its password",
                    details: "The password is read without echo, or taken from $P22P_PASSWORD. Prints your name and CID.\nExample: join demo"),
        CommandHelp(names: ["leave"], usage: "leave", summary: "leave the group, closing its forwards and streams",
                    details: "You stay connected to the relay and can create or join another group."),
        CommandHelp(names: ["relay"], usage: "relay PEER [LOCAL] REMOTE", summary: "forward local port LOCAL to REMOTE on PEER",
                    details: """
                        PEER is a member name or CID (see peers). LOCAL is the port to listen on here, on 127.0.0.1;
                        leave it out (or give 0) for any free port, which is printed. REMOTE is PORT (on the peer's
                        own 127.0.0.1) or HOST:PORT as seen from the peer. The peer must allow it (its allow list).
                        Add /udp to REMOTE to forward UDP datagrams instead of TCP (the peer must allow PORT/udp).
                        Example: relay home-pc 2222 22      then: ssh -p 2222 127.0.0.1
                        Example: relay 3 192.168.1.10:80    (prints the local port)
                        Example: relay home-pc 27015 27015/udp   (a game server's UDP port)
                        """),
        CommandHelp(names: ["allow"], usage: "allow [TARGET...]", summary: "let peers open TARGET here; without arguments, show the allow list",
                    details: "TARGET is PORT (meaning 127.0.0.1:PORT) or HOST:PORT, for TCP; add /udp (PORT/udp) to allow UDP instead.\nNothing is allowed until you allow it.\nExample: allow 22 127.0.0.1:5432 27015/udp"),
        CommandHelp(names: ["deny"], usage: "deny TARGET...", summary: "take TARGET off the allow list",
                    details: "Open streams stay open; new requests for TARGET are refused. Use PORT/udp for a UDP entry.\nExample: deny 22"),
        CommandHelp(names: ["list"], usage: "list", summary: "forwards, open streams and UDP flows: peer, ports, bytes in/out, drops",
                    details: "One line per forward: its state (listening, waiting for link, waiting for peer), connections open\nand in all, and bytes each way (for UDP: datagrams each way and how many were dropped, and why);\nthen one per open stream, then one per UDP flow."),
        CommandHelp(names: ["peers"], usage: "peers", summary: "members of the group, with CID and whether a session is up",
                    details: "A session (end-to-end keys) is set up with a peer the first time a stream or ping needs it."),
        CommandHelp(names: ["ping"], usage: "ping PEER", summary: "round trip to PEER through the relay, in ms (3 pings)",
                    details: "Prints min/avg/max of three end-to-end pings.\nExample: ping home-pc"),
        CommandHelp(names: ["cid", "whoami"], usage: "cid | whoami", summary: "your CID and name in the group", details: ""),
        CommandHelp(names: ["reserve"], usage: "reserve NAME ALL|SCO OUTFILE", summary: "reserve a '#' group name and save the key to OUTFILE",
                    details: "Only the holder of OUTFILE can create NAME (create NAME OUTFILE). SCO makes the group creator-only: members can talk to the creator, not to each other. Valid 90 days.\nExample: reserve #club ALL club.key"),
        CommandHelp(names: ["extend"], usage: "extend KEYFILE", summary: "extend a reservation while it is valid",
                    details: "Renews the reservation in KEYFILE for another 90 days and rewrites the file.\nExample: extend club.key"),
        CommandHelp(names: ["help"], usage: "help [COMMAND | usage]", summary: "this list, one command's help, or the usage guide", details: ""),
        CommandHelp(names: ["exit", "quit"], usage: "exit | quit", summary: "leave and exit (also Ctrl-D)", details: ""),
    ]

    public static func find(_ name: String) -> CommandHelp? {
        commands.first { $0.names.contains(name) }
    }

    public static var overview: String {
        let width = commands.map(\.usage.count).max() ?? 0
        return commands.map { $0.usage.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.summary }
            .joined(separator: "\n") + "\n\nhelp COMMAND explains one command; help usage walks through a first session."
    }

    public static let guide = """
        A first session:
          1. connect [URL]          choose the relay everyone uses
          2. create NAME            start a group (or: join NAME to enter one); you are asked for its password
          3. allow PORT             on the machine that offers a service: let peers reach that port
          4. relay PEER LOCAL PORT  on the machine that uses it: listen on LOCAL, carried to PORT on PEER
          5. list                   see forwards and streams with their byte counts
          6. leave                  leave the group (exit leaves and quits)
        Example, on machine "host":   connect ws://relay:39453 / create demo / allow 8000
                 on machine "guest":  connect ws://relay:39453 / join demo / relay host 18000 8000
                 then on guest:       curl http://127.0.0.1:18000/
        """
}
