import NIOCore
import P22PWire

/// The end-to-end sessions of one group, by peer name. A name (whose static
/// key the peer proves in every handshake) is what identifies a peer across
/// links and relays; its CID is only where it is on the current link.
///
/// With a `resumeTimeout`, sessions outlive the link: a lost link or a peer
/// that dropped off suspends them, and the peer's next appearance, on this
/// relay or another, resumes them. Without one (a member used on its own,
/// for one command), a lost link ends every session, as before.
final class PeerDirectory {
    let resumeTimeout: TimeAmount?
    private(set) var sessions: [String: PeerSession] = [:]

    init(resumeTimeout: TimeAmount?) {
        self.resumeTimeout = resumeTimeout
    }

    /// The session with `name`, now at `cid` on `member`'s link; created on first use.
    func session(named name: String, cid: CID, on member: Member) -> PeerSession {
        if let existing = sessions[name] {
            existing.attach(to: member, cid: cid)
            return existing
        }
        let created = PeerSession(peerName: name, peer: cid, member: member, directory: self)
        sessions[name] = created
        return created
    }

    /// The session with `name` if there is one, without attaching it anywhere.
    subscript(name: String) -> PeerSession? { sessions[name] }

    /// `name` is on `member`'s roster at `cid`: a suspended session with
    /// it resumes at once.
    func peerArrived(_ name: String, cid: CID, on member: Member) {
        sessions[name]?.attach(to: member, cid: cid)
    }

    /// `member` has its CID: sessions on its roster that wait may resume.
    func welcomed(on member: Member) {
        for session in sessions.values where session.member === member { session.linkReady() }
    }

    /// The relay says `name` left (or its frames cannot be delivered).
    func peerLeft(_ name: String, from member: Member, reason: String) {
        guard let session = sessions[name], session.member === member else { return }
        suspendOrClose(session, reason: reason)
    }

    /// The relay will not carry frames to `name` at all: its streams end now.
    func peerRefused(_ name: String, from member: Member, reason: String) {
        guard let session = sessions[name], session.member === member else { return }
        session.close(reason: reason)
        forget(session)
    }

    /// `member`'s link is gone: every session that ran on it waits for its
    /// peer on the next link, or ends.
    func linkLost(from member: Member, reason: String) {
        for session in sessions.values where session.member === member {
            suspendOrClose(session, reason: reason)
        }
    }

    private func suspendOrClose(_ session: PeerSession, reason: String) {
        if let resumeTimeout, resumeTimeout > .zero, session.holdsTraffic {
            session.suspend(reason: reason, timeout: resumeTimeout)
        } else {
            session.close(reason: reason)
            forget(session)
        }
    }

    /// A session with nothing left to resume need not be kept.
    func forget(_ session: PeerSession) {
        if sessions[session.peerName] === session, !session.isAttached, !session.holdsTraffic {
            sessions.removeValue(forKey: session.peerName)
        }
    }

    /// Whether any connection waits for a peer or a link to come back.
    var hasSuspendedStreams: Bool {
        sessions.values.contains { $0.suspension != nil && $0.hasStreams }
    }

    /// Sessions that ran on `member`'s link, for its writability and its lists.
    func sessions(on member: Member) -> [PeerSession] {
        sessions.values.filter { $0.member === member }
    }

    /// Ends every session and its streams, telling the peers (the group is
    /// being left for good).
    func closeAll(reason: String) {
        for session in sessions.values { session.close(reason: reason, tellingPeer: true) }
        sessions.removeAll()
    }
}
