import NIOCore
import NIOPosix
import P22PTransport
import P22PWire

/// UDP flows ride the session like streams, under ids of the same numbering,
/// but with none of a stream's guarantees: no window, no resending, no
/// waiting. A datagram the link cannot take now is dropped and counted,
/// never queued without bound; one that is too big for a frame is dropped
/// rather than split. Sealed datagrams are never dropped, so the session's
/// per-stream message counts stay in step.
extension PeerSession {
    /// Flows with one peer on the target's side (each holds a socket), and
    /// on one forward's side (where the least recently used one makes room).
    static let udpFlowLimit = 512

    var udpIdleTimeout: TimeAmount { member.configuration.udpIdleTimeout }

    /// A new flow from the local program at `source` to `target` on the peer.
    func openFlow(to target: TargetAddress, from source: SocketAddress, listener: DatagramListener,
                  pinnedKey: [UInt8]?) -> DatagramFlow {
        let id = nextStreamID
        nextStreamID &+= 2
        let flow = DatagramFlow(id: id, target: target, session: self, end: .forward(listener, source: source),
                                counters: listener.counters, pinnedKey: pinnedKey)
        flows[id] = flow
        if isEstablished, !accepts(pinnedKey) { refuseFlowForPin(flow) }
        watchIdle(flow)
        member.logger.debug("UDP flow \(id) from \(source.readable) to \(peerName) \(target)/udp")
        return flow
    }

    /// Sends one datagram toward the peer, or drops it (and counts why).
    /// Only what is sent or kept counts as activity: a refused flow idles
    /// out, and the next datagram asks the peer again.
    func sendDatagram(_ bytes: ByteBuffer, on flow: DatagramFlow) {
        let logger = member.logger
        if let refusal = flow.refusal {
            return flow.counters.drop(.refused, logger: logger, "UDP datagram from \(flow.origin) to \(peerName) \(flow.target)/udp dropped: \(refusal)")
        }
        let limit = member.dataChunk
        guard bytes.readableBytes <= limit else {
            return flow.counters.drop(.tooBig, logger: logger, "UDP datagram of \(bytes.readableBytes) bytes from \(flow.origin) dropped: a frame of the relay holds at most \(limit) (its --max-frame-size), and datagrams are never split")
        }
        guard isReady else {
            if !flow.waitForKeys(bytes) {
                flow.counters.drop(.busy, logger: logger, "UDP datagrams from \(flow.origin) to \(peerName) dropped: at most \(DatagramQueue.countLimit) (and \(DatagramQueue.byteLimit >> 10) KiB) wait while the end-to-end session with \(peerName) is set up; if this goes on, check that \(peerName) is online (p22p ping \(peerName))")
            }
            if case .idle = handshake, isAttached { startHandshake() }
            return
        }
        transmit(bytes, on: flow)
    }

    private func transmit(_ bytes: ByteBuffer, on flow: DatagramFlow) {
        // A datagram that would wait long behind stream data is useless when
        // it arrives: it is dropped instead (see `linkTakesDatagram`).
        guard member.linkTakesDatagram else {
            return flow.counters.drop(.busy, logger: member.logger, "UDP datagrams from \(flow.origin) dropped: the link to the relay is busy")
        }
        if flow.isForwardSide, !flow.openSent {
            send(.datagramOpen(host: flow.target.host, port: UInt16(flow.target.port)), stream: flow.id)
            flow.openSent = true
        }
        send(.datagram(bytes), stream: flow.id)
        flow.touch()
        flow.counters.sent(bytes.readableBytes)
    }

    /// The session is ready again: datagrams that waited for it go now.
    func flushDatagrams() {
        for flow in flows.values.sorted(by: { $0.id < $1.id }) where !flow.waitingForKeys.isEmpty {
            let waiting = flow.takeWaitingForKeys()
            if flow.refusal != nil { continue }
            for bytes in waiting { transmit(bytes, on: flow) }
        }
    }

    /// After a new handshake: every flow of ours opens again with its next
    /// datagram, in case the peer lost it, and asks again if the peer had
    /// refused it; flows the proven key may not have end. If the peer
    /// started over (`peerRestarted`), the flows it had opened are gone on
    /// its side, and their ids will be used again: they end here too.
    func datagramKeysChanged(peerRestarted: Bool) {
        if peerRestarted {
            for flow in flows.values.sorted(by: { $0.id < $1.id }) where !flow.isForwardSide {
                endFlow(flow, reason: "\(peerName) started a new session", tellingPeer: false)
            }
        }
        for flow in flows.values where flow.isForwardSide {
            flow.openSent = false
            if flow.refusedByPeer { flow.clearRefusal() }
            if !accepts(flow.pinnedKey) { refuseFlowForPin(flow) }
        }
    }

    private func refuseFlowForPin(_ flow: DatagramFlow) {
        let reason = "\(peerName) does not prove the key the forward pins (peer_key); if its identity changed on purpose, update peer_key"
        flow.refuse(reason, byPeer: false)
        if let more = datagramLog.admit("pin \(flow.target)") {
            member.logger.error("UDP flow from \(flow.origin) to \(peerName) \(flow.target)/udp refused: \(reason)\(LogThrottle.more(more))")
        }
    }

    // MARK: From the peer

    func receiveDatagramOpen(id: UInt32, target: TargetAddress) {
        if let existing = flows[id] {
            guard !existing.isForwardSide, existing.target == target else {
                member.logger.warning("\(peerName) opened UDP flow \(id) a second time, to another target; ending the flow")
                return endFlow(existing, reason: "flow \(id) was opened twice", tellingPeer: true)
            }
            // The same open again: the peer's keys changed, and it cannot know we kept the flow.
            if member.allowList.checkedAddress(for: target, .udp) == nil {
                endFlow(existing, reason: "\(target)/udp is no longer in \(member.name)'s allow list", tellingPeer: true)
            }
            return
        }
        guard id != 0, !isOurs(id), streams[id] == nil else {
            send(.reset(reason: "stream id \(id) is not valid for a UDP flow"), stream: id)
            return
        }
        // A refused open leaves nothing behind: the peer drops the flow's
        // datagrams itself once it hears, and frames already on their way
        // for an id we do not know are ignored.
        guard let checked = member.allowList.checkedAddress(for: target, .udp) else {
            refuseOpen(id, reason: "\(target)/udp is not in \(member.name)'s allow list",
                       log: "refused UDP flow from \(peerName) to \(target): not in the allow list (allow \(target)/udp to let it in)")
            return
        }
        let open = flows.values.filter { !$0.isForwardSide }.count
        guard open < Self.udpFlowLimit else {
            refuseOpen(id, reason: "\(member.name) already has \(open) UDP flows from \(peerName) open, the most it keeps; idle ones end after \(udpIdleTimeout.seconds) s",
                       log: "refused UDP flow from \(peerName) to \(target): \(open) flows from it are open, the most p22p keeps per peer")
            return
        }
        let flow = DatagramFlow(id: id, target: target, session: self, end: .target(nil), counters: DatagramCounters())
        flows[id] = flow
        watchIdle(flow)
        connectFlow(flow, to: checked)
    }

    private func refuseOpen(_ id: UInt32, reason: String, log line: String) {
        if let more = datagramLog.admit(line) { member.logger.notice("\(line)\(LogThrottle.more(more))") }
        send(.openRefused(reason: reason), stream: id)
        forget(id)
    }

    /// Gives the target's side of `flow` a UDP socket of its own, connected
    /// to `checked`, so the target's answers come back to this flow alone.
    private func connectFlow(_ flow: DatagramFlow, to checked: TargetAddress) {
        let logger = member.logger
        let eventLoop = member.eventLoop
        checked.resolved(on: eventLoop).assumeIsolated().flatMap { resolved in
            DatagramBootstrap(group: eventLoop)
                .p22pDatagramOptions()
                .connect(to: resolved)
        }
        .flatMapThrowing { channel in
            // Nothing was sent to the target yet, so no answer can come before the reader is in place.
            do {
                try channel.pipeline.syncOperations.addHandler(DatagramReader(logger: logger) { bytes, _ in
                    self.datagramFromTarget(bytes, on: flow)
                })
            } catch {
                channel.close(promise: nil)
                throw error
            }
            return channel
        }
        .whenComplete { result in
            switch result {
            case .success(let channel):
                guard !flow.isEnded else { return channel.close(promise: nil) }
                flow.connected(channel)
                // Closed by anything but the flow's end (which closes it first), it ends the flow.
                channel.closeFuture.assumeIsolated().whenComplete { _ in
                    self.endFlow(flow, reason: "the UDP socket to \(checked) closed", tellingPeer: true)
                }
                logger.debug("UDP flow \(flow.id) from \(self.peerName) to \(checked)/udp")
            case .failure(let error):
                let reason = "cannot reach \(checked)/udp: \(describeSocketError(error))"
                if let more = self.datagramLog.admit("reach \(checked)") {
                    logger.warning("UDP flow from \(self.peerName): \(reason)\(LogThrottle.more(more))")
                }
                self.endFlow(flow, reason: reason, tellingPeer: true)
            }
        }
    }

    fileprivate func datagramFromTarget(_ bytes: ByteBuffer, on flow: DatagramFlow) {
        guard !flow.isEnded else { return }
        sendDatagram(bytes, on: flow)
    }

    /// A message from the peer on flow `id`; false if there is no such flow.
    func receiveOnFlow(_ message: StreamMessage, id: UInt32) -> Bool {
        guard let flow = flows[id] else { return false }
        switch message {
        case .datagram(let bytes):
            if let refusal = flow.refusal {
                flow.counters.drop(.refused, logger: member.logger, "UDP datagrams from \(peerName) to \(flow.origin) dropped: \(refusal)")
            } else {
                flow.deliver(bytes)
            }
        case .openRefused(let reason):
            flow.refuse("\(peerName) refused it: \(reason)", byPeer: true)
            if let more = datagramLog.admit("refused \(flow.target)") {
                member.logger.warning("\(peerName) refused UDP to \(flow.target): \(reason); datagrams from \(flow.origin) are dropped, and the next one after \(udpIdleTimeout.seconds) s asks again\(LogThrottle.more(more))")
            }
        case .reset(let reason):
            endFlow(flow, reason: "\(peerName) ended it: \(reason)", tellingPeer: false)
        default:
            member.logger.warning("unexpected \(message.kind) from \(peerName) on UDP flow \(id); ending the flow")
            endFlow(flow, reason: "unexpected \(message.kind)", tellingPeer: true)
        }
        return true
    }

    /// The allow list changed: flows to targets it no longer has end.
    func allowListChanged() {
        for flow in flows.values.sorted(by: { $0.id < $1.id }) where !flow.isForwardSide {
            if member.allowList.checkedAddress(for: flow.target, .udp) == nil {
                endFlow(flow, reason: "\(flow.target)/udp is no longer in \(member.name)'s allow list", tellingPeer: true)
            }
        }
    }

    // MARK: Ending

    private func watchIdle(_ flow: DatagramFlow) {
        let timeout = udpIdleTimeout
        flow.watchIdle(timeout: timeout) { [weak self] in
            self?.endFlow(flow, reason: "no datagram either way for \(timeout.seconds) s", tellingPeer: true)
        }
    }

    func endFlow(_ flow: DatagramFlow, reason: String, tellingPeer: Bool) {
        guard !flow.isEnded, flows[flow.id] === flow else { return flow.close() }
        member.logger.debug("UDP flow \(flow.id) from \(flow.origin) to \(flow.target)/udp ended: \(reason)")
        // A flow the peer never heard of needs no word.
        if tellingPeer, isReady, !flow.isForwardSide || flow.openSent {
            send(.reset(reason: reason), stream: flow.id)
        }
        flows.removeValue(forKey: flow.id)
        forget(flow.id)
        flow.close()
        trafficEnded()
    }

    func endAllFlows(reason: String, tellingPeer: Bool) {
        for flow in flows.values.sorted(by: { $0.id < $1.id }) { endFlow(flow, reason: reason, tellingPeer: tellingPeer) }
    }
}
