/// The life of one forwarded stream, as a value: events in, actions out, no
/// I/O. `ForwardedStream` performs the actions on the local socket and the
/// peer session.
///
/// The rule that matters most: only the peer's own sealed `finish` ends a
/// direction cleanly. Anything else that ends a stream after it opened (a
/// refusal, a lost link, a protocol error) is a reset, so the local program
/// sees a failure instead of a silently truncated stream.
struct StreamStateMachine: Equatable {
    enum State: Equatable {
        /// Waiting for the peer's acceptance (ours) or for the target's
        /// connection (theirs).
        case opening
        case open
        /// We sent `finish`; the peer may still send.
        case halfClosedLocal
        /// The peer sent `finish`; we may still send.
        case halfClosedRemote
        /// Both directions finished cleanly, or the open was refused before
        /// anything was connected.
        case closed
        case reset(reason: String)
    }

    enum Event: Equatable {
        /// The peer accepted our open.
        case peerAccepted
        /// The peer refused our open.
        case peerRefused(reason: String)
        /// The relay would not carry this stream.
        case relayRefused(reason: String)
        /// This member will not open the stream: the peer is not who the
        /// forward requires (its `peer_key` pin).
        case refusedHere(by: String, reason: String)
        /// We connected to the target the peer asked for.
        case targetConnected
        case targetFailed(reason: String)
        case peerData
        case peerFinished
        case peerReset(reason: String)
        /// The local program finished sending and everything it sent is on its way.
        case localFinished
        /// The local socket closed without a finish of its own.
        case localClosed
        case localFailed(reason: String)
        /// The peer session or the link is gone.
        case sessionEnded(reason: String)
        case protocolViolation(String)
    }

    enum Action: Equatable {
        case sendAccept
        case sendRefusal(reason: String)
        case sendFinish
        case sendReset(reason: String)
        /// Shut the local socket's output once the data before it is written.
        case shutDownLocalOutput
        /// Close the local socket gracefully (FIN).
        case closeLocal
        /// Close the local socket with RST.
        case resetLocal
        case startReading
        case reportRefused(by: String, reason: String)
        case reportReset(reason: String, by: ResetCause)
    }

    /// Who ended a stream abruptly, which decides how loudly it is logged.
    enum ResetCause: Equatable {
        case peer
        /// This side: the local program, or a protocol violation.
        case local
        /// The peer session or the link went away (one line for all its streams).
        case session
    }

    let initiatedLocally: Bool
    private(set) var state = State.opening {
        didSet { if state == .open { wasOpen = true } }
    }
    /// The stream got past opening (it may have ended since).
    private(set) var wasOpen = false

    init(initiatedLocally: Bool) {
        self.initiatedLocally = initiatedLocally
    }

    var isEnded: Bool {
        switch state {
        case .closed, .reset: true
        default: false
        }
    }

    /// Data from the peer is welcome.
    var acceptsPeerData: Bool { state == .open || state == .halfClosedLocal }

    /// We may still send data to the peer.
    var maySend: Bool { state == .open || state == .halfClosedRemote }

    mutating func handle(_ event: Event) -> [Action] {
        // A stream that ended stays ended (a target that connects after all
        // is closed by `ForwardedStream`).
        if isEnded { return [] }
        switch event {
        case .peerAccepted:
            guard initiatedLocally, state == .opening else { return violation("unexpected open acceptance") }
            state = .open
            return [.startReading]
        case .targetConnected:
            guard !initiatedLocally, state == .opening else { return violation("target connected twice") }
            state = .open
            return [.sendAccept, .startReading]
        case .targetFailed(let reason):
            guard !initiatedLocally, state == .opening else { return [] }
            state = .closed
            return [.sendRefusal(reason: reason)]
        case .peerRefused(let reason):
            return refused(by: "the peer", reason: reason)
        case .relayRefused(let reason):
            return refused(by: "the relay", reason: reason)
        case .refusedHere(let refuser, let reason):
            return refused(by: refuser, reason: reason)
        case .peerData:
            guard acceptsPeerData else { return violation("data on a stream that is not open") }
            return []
        case .peerFinished:
            switch state {
            case .open:
                state = .halfClosedRemote
                return [.shutDownLocalOutput]
            case .halfClosedLocal:
                state = .closed
                return [.shutDownLocalOutput, .closeLocal]
            default:
                return violation("finish on a stream that is not open")
            }
        case .localFinished:
            switch state {
            case .open:
                state = .halfClosedLocal
                return [.sendFinish]
            case .halfClosedRemote:
                state = .closed
                return [.sendFinish, .closeLocal]
            default:
                return []
            }
        case .localClosed:
            // After we shut the local output, the program's own FIN closes the
            // socket completely (NIO reports no separate input-closed then):
            // that is a graceful end of its direction.
            if state == .halfClosedRemote { return handle(.localFinished) }
            return reset("local connection closed", notifyPeer: true, report: false)
        case .localFailed(let reason):
            return reset("local connection failed: \(reason)", notifyPeer: true, report: true)
        case .peerReset(let reason):
            state = .reset(reason: reason)
            return [.resetLocal, .reportReset(reason: reason, by: .peer)]
        case .sessionEnded(let reason):
            state = .reset(reason: reason)
            return [.resetLocal, .reportReset(reason: reason, by: .session)]
        case .protocolViolation(let what):
            return violation(what)
        }
    }

    /// A refusal ends a stream cleanly only while it is still opening:
    /// nothing was ever connected, so a plain close (as `ssh -L` does).
    /// Once open, a refusal would be a silent truncation; it is a reset.
    private mutating func refused(by refuser: String, reason: String) -> [Action] {
        guard initiatedLocally else { return violation("\(refuser) refused a stream the peer opened (\(reason))") }
        guard state == .opening else { return violation("\(refuser) refused a stream that is already open (\(reason))") }
        state = .closed
        return [.reportRefused(by: refuser, reason: reason), .closeLocal]
    }

    private mutating func violation(_ what: String) -> [Action] {
        reset(what, notifyPeer: true, report: true)
    }

    private mutating func reset(_ reason: String, notifyPeer: Bool, report: Bool) -> [Action] {
        state = .reset(reason: reason)
        var actions: [Action] = notifyPeer ? [.sendReset(reason: reason)] : []
        actions.append(.resetLocal)
        if report { actions.append(.reportReset(reason: reason, by: .local)) }
        return actions
    }
}
