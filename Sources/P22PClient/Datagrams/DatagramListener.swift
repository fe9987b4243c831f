import Logging
import NIOCore
import NIOPosix
import P22PTransport

/// The local UDP socket of one `protocol: udp` forward. Each local address
/// that sends to it is a flow of its own (`DatagramFlow`), so replies go
/// back to the program that asked.
///
/// Confined to its event loop, like the group session that owns it.
final class DatagramListener: @unchecked Sendable {  // state confined to the channel's event loop
    let spec: ForwardSpec
    let port: Int
    let counters = DatagramCounters()
    private let channel: Channel
    private let logger: Logger
    /// The session to the forward's peer right now; nil while the link is
    /// down or the peer is away.
    private let route: (ForwardSpec) -> PeerSession?
    private var flows: [SocketAddress: DatagramFlow] = [:]
    private var limitLogged = LogThrottle()

    private init(spec: ForwardSpec, channel: Channel, logger: Logger, route: @escaping (ForwardSpec) -> PeerSession?) {
        self.spec = spec
        self.channel = channel
        self.logger = logger
        self.route = route
        self.port = channel.localAddress?.port ?? spec.listen.port
    }

    /// Binds `spec.listen` for UDP.
    static func start(_ spec: ForwardSpec, on eventLoop: EventLoop, logger: Logger,
                      route: @escaping (ForwardSpec) -> PeerSession?) -> EventLoopFuture<DatagramListener> {
        // No SO_REUSEADDR: on UDP it would let a second forward bind the
        // same port without an error, and split the datagrams between them.
        DatagramBootstrap(group: eventLoop)
            .p22pDatagramOptions()
            .bind(host: spec.listen.host, port: spec.listen.port)
            .flatMapErrorThrowing { error in
                throw MemberError.invalidConfiguration("cannot listen on \(spec.listen)/udp: \(describeSocketError(error))")
            }
            .assumeIsolated()
            .flatMapThrowing { channel in
                // Nothing was sent from this socket yet, so nothing is read before the reader is in place.
                let listener = DatagramListener(spec: spec, channel: channel, logger: logger, route: route)
                try channel.pipeline.syncOperations.addHandler(DatagramReader(logger: logger) { bytes, source in
                    listener.received(bytes, from: source)
                })
                return listener
            }
            .nonisolated()
    }

    private func received(_ bytes: ByteBuffer, from source: SocketAddress) {
        guard let session = route(spec) else {
            return counters.drop(.noPeer, logger: logger, "UDP datagram from \(source.readable) for \(spec.peer) dropped: \(spec.peer) is not reachable (no link to the relay, or not in the group)")
        }
        var flow = flows[source]
        if let existing = flow, existing.isEnded || existing.session !== session {
            // The peer's session changed (it left and came back): start over on the new one.
            existing.session.endFlow(existing, reason: "the session with \(existing.session.peerName) changed", tellingPeer: true)
            flow = nil
        }
        if flow == nil { makeRoom() }
        let active = flow ?? session.openFlow(to: spec.target, from: source, listener: self, pinnedKey: spec.peerKey)
        flows[source] = active
        session.sendDatagram(bytes, on: active)
    }

    /// A datagram from the peer, to the local program at `source`.
    func write(_ bytes: ByteBuffer, to source: SocketAddress, counters: DatagramCounters) {
        guard channel.isWritable else {
            return counters.drop(.busy, logger: logger, "the UDP socket of forward \(spec) is full; dropping datagrams to \(source.readable)")
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: source, data: bytes), promise: nil)
    }

    /// At the most flows a forward keeps, the one idle longest ends, so a
    /// program sending from ever new ports cannot use up sockets on the peer.
    private func makeRoom() {
        guard flows.count >= PeerSession.udpFlowLimit,
              let oldest = flows.values.min(by: { $0.lastActivity < $1.lastActivity }) else { return }
        if limitLogged.admit("limit") != nil {
            logger.notice("forward \(spec) has \(flows.count) UDP flows open, the most it keeps; the one idle longest (from \(oldest.origin)) ends to make room")
        }
        oldest.session.endFlow(oldest, reason: "the forward needed room for a new flow", tellingPeer: true)
    }

    func flowEnded(_ flow: DatagramFlow, source: SocketAddress) {
        if flows[source] === flow { flows.removeValue(forKey: source) }
    }

    /// Flows open right now, for `list`.
    var openFlows: [DatagramFlow] { Array(flows.values) }

    /// Closes the socket and ends its flows, telling the peer.
    func close() -> EventLoopFuture<Void> {
        for flow in Array(flows.values) { flow.session.endFlow(flow, reason: "the forward was removed", tellingPeer: true) }
        return channel.close().recover { _ in }
    }
}
