import NIOConcurrencyHelpers
import P22PWire

/// The streams a member has opened and not yet closed, as far as the relay
/// can tell from the clear part of sealed frames (kind and stream id), so a
/// member can be held to a maximum number of open streams. Updated from the
/// event loops of both ends of each stream, hence the lock.
final class StreamLedger: @unchecked Sendable {  // every mutable field is read and written under `lock`
    private struct Key: Hashable {
        let peer: CID
        let stream: UInt32
    }

    private let lock = NIOLock()
    /// Value: which sides have finished (bit 0 the opener, bit 1 the peer).
    private var open: [Key: UInt8] = [:]

    /// Records an open toward `peer`; false if the member is at `limit`.
    func opened(stream: UInt32, toward peer: CID, limit: Int) -> Bool {
        lock.withLock {
            guard open.count < limit else { return false }
            open[Key(peer: peer, stream: stream)] = 0
            return true
        }
    }

    /// A reset or refusal ends the stream at once.
    func ended(stream: UInt32, with peer: CID) {
        lock.withLock { _ = open.removeValue(forKey: Key(peer: peer, stream: stream)) }
    }

    /// A finish from one side; the stream ends when both sides have finished.
    func finished(stream: UInt32, with peer: CID, byOpener: Bool) {
        lock.withLock {
            let key = Key(peer: peer, stream: stream)
            guard let mask = open[key] else { return }
            let updated = mask | (byOpener ? 1 : 2)
            if updated == 3 { open.removeValue(forKey: key) } else { open[key] = updated }
        }
    }

    /// `peer` left: its streams with this member are over.
    func forget(peer: CID) {
        lock.withLock { open = open.filter { $0.key.peer != peer } }
    }
}
