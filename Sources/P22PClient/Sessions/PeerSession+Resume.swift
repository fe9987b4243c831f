import NIOCore
import P22PWire

/// After every handshake, fresh or resumed, each side lists where its
/// streams stand; each then resends what the other has not got: data from
/// the byte the peer received last, a finish it missed, an open it never
/// saw, a reset for a stream that ended while the link was down.
extension PeerSession {
    func sendResumeList() {
        let entries = streams.values.sorted { $0.id < $1.id }.map { $0.resumeState }
        var chunks = stride(from: 0, to: entries.count, by: StreamResume.maxPerMessage).map {
            Array(entries[$0..<min($0 + StreamResume.maxPerMessage, entries.count)])
        }
        if chunks.isEmpty { chunks = [[]] }
        for (index, chunk) in chunks.enumerated() {
            send(.resume(chunk, last: index == chunks.count - 1), stream: 0)
        }
    }

    func receiveResume(_ entries: [StreamResume], last: Bool) {
        guard isEstablished, !synced else {
            member.logger.warning("ignoring a second stream list from \(peerName) in one session")
            return
        }
        for entry in entries { peerStreams[entry.stream] = entry }
        guard last else { return }
        let listed = peerStreams
        peerStreams.removeAll()
        synced = true
        let waited = suspension.map { NIODeadline.now() - $0.since }
        if let suspension {
            suspension.deadline.cancel()
            self.suspension = nil
        }
        reconcile(with: listed)
        if let waited, !streams.isEmpty {
            let seconds = String(format: "%.1f", Double(waited.nanoseconds) / 1e9)
            member.logger.notice("\(streams.count) connection(s) with \(peerName) resumed after \(seconds) s")
        }
        let waiting = queued
        queued.removeAll()
        for (stream, message) in waiting { send(message, stream: stream) }
        for stream in Array(streams.values) { stream.sessionReady() }
        flushDatagrams()
    }

    private func reconcile(with listed: [UInt32: StreamResume]) {
        for stream in streams.values.sorted(by: { $0.id < $1.id }) {
            if let entry = listed[stream.id] {
                stream.resume(from: entry)
            } else if stream.initiatedLocally, stream.state == .opening, !stream.isEnded {
                sendOpen(stream)
            } else {
                stream.peerForgot()
            }
        }
        for entry in listed.values.sorted(by: { $0.stream < $1.stream }) where streams[entry.stream] == nil {
            // The peer's own open that never reached us: it sends it again.
            if !entry.isOpen, !isOurs(entry.stream) { continue }
            send(.reset(reason: "the stream ended while the link was down"), stream: entry.stream)
        }
    }
}
