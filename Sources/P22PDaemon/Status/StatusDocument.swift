import Foundation
import P22PClient

/// What `/status.json` says, the shape p22p-up(1) documents: for each group
/// its link, member and peers, and for each forward its state and traffic.
/// Keys are snake_case; times are ISO 8601 in UTC; rates are bytes per second.
public struct StatusDocument: Codable, Equatable, Sendable {
    public var version: String
    public var profile: String
    public var time: Date
    /// Seconds between two points of a forward's history.
    public var sampleInterval: Double
    public var groups: [Group]

    public struct Group: Codable, Equatable, Sendable {
        public var name: String
        public var relay: String
        public var member: Member
        public var link: Link
        public var peers: [Peer]
        public var forwards: [Forward]
    }

    public struct Member: Codable, Equatable, Sendable {
        public var name: String
        /// Absent while not joined.
        public var cid: Int?
    }

    public struct Link: Codable, Equatable, Sendable {
        /// connecting, joined, waiting to reconnect, waiting for the group's creator, stopped.
        public var state: String
        public var since: Date
        /// Why the link last failed or broke; absent if it never did.
        public var lastError: String?
    }

    public struct Peer: Codable, Equatable, Sendable {
        public var name: String
        public var cid: Int
        public var sessionUp: Bool
        /// The last end-to-end ping through the relay; absent before the first.
        public var roundTripMs: Double?
    }

    public struct Forward: Codable, Equatable, Sendable {
        public var listen: String
        /// tcp or udp.
        public var `protocol`: String
        public var peer: String
        public var target: String
        /// listening, waiting for link, waiting for peer.
        public var state: String
        /// Connections open now (TCP) or flows (UDP).
        public var connections: Int
        public var connectionsTotal: Int
        /// Bytes from the peer to local programs.
        public var bytesIn: Int
        /// Bytes from local programs to the peer.
        public var bytesOut: Int
        public var rateIn: Double
        public var rateOut: Double
        /// The rates of the last few minutes, oldest first.
        public var history: History
        /// UDP forwards: datagrams dropped, by reason.
        public var dropped: Dropped?
    }

    public struct History: Codable, Equatable, Sendable {
        public var rateIn: [Double]
        public var rateOut: [Double]
    }

    public struct Dropped: Codable, Equatable, Sendable {
        public var tooBig: Int
        public var busy: Int
        public var noPeer: Int
        public var refused: Int
    }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

extension StatusDocument.Forward {
    /// `status` as the session saw it, with the rates the board measured.
    init(_ status: ForwardStatus, rates: ForwardHistory.Rates) {
        let spec = status.spec
        let listen = TargetAddress(host: spec.listen.host, port: status.port)
        self.listen = "\(listen)"
        self.protocol = spec.ipProtocol == .udp ? "udp" : "tcp"
        self.peer = "\(spec.peer)"
        self.target = "\(spec.target)"
        self.state = status.state.rawValue
        if let datagrams = status.datagrams {
            connections = datagrams.flows
            connectionsTotal = datagrams.flowsOpened
            bytesIn = datagrams.bytesFromPeer
            bytesOut = datagrams.bytesToPeer
            dropped = StatusDocument.Dropped(tooBig: datagrams.droppedTooBig, busy: datagrams.droppedBusy,
                                             noPeer: datagrams.droppedNoPeer, refused: datagrams.droppedRefused)
        } else {
            connections = status.traffic.open
            connectionsTotal = status.traffic.opened
            bytesIn = status.traffic.bytesIn
            bytesOut = status.traffic.bytesOut
            dropped = nil
        }
        rateIn = rates.rateIn.last ?? 0
        rateOut = rates.rateOut.last ?? 0
        history = StatusDocument.History(rateIn: rates.rateIn, rateOut: rates.rateOut)
    }
}
