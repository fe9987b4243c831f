import Crypto
import Foundation

/// Sends one random payload of each size through `port` at once, each on its
/// own connection, to an echo server behind it; every connection writes and
/// reads in parallel, so a payload larger than all buffers on the way cannot
/// deadlock. Returns what went wrong (empty when every byte came back), or
/// a line saying the streams did not finish within `timeoutSeconds`.
func concurrentEchoes(port: Int, sizes: [Int], timeoutSeconds: Int) async -> [String] {
    let failures = Recorder()
    let group = DispatchGroup()
    for size in sizes {
        group.enter()
        Thread {
            defer { group.leave() }
            do {
                let payload = randomBytes(size)
                let connection = try TCPConnection.connect(port: port)
                defer { connection.close() }
                let (count, digest) = try connection.sendAndReceiveAllHashed(payload)
                if count != size || digest != SHA256.hash(data: payload) {
                    failures.add("stream of \(size) bytes: got \(count) bytes, digest match \(digest == SHA256.hash(data: payload))")
                }
            } catch {
                failures.add("stream of \(size) bytes: \(error)")
            }
        }.start()
    }
    let finished = await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: group.wait(timeout: .now() + .seconds(timeoutSeconds)) == .success) }
    }
    return finished ? failures.all : failures.all + ["streams did not finish within \(timeoutSeconds) s"]
}

extension TCPConnection {
    /// Sends `payload` from a thread of its own, then half-closes, while
    /// reading everything that comes back until the peer closes: how many
    /// bytes and their SHA-256. Neither side waits on the other, so no
    /// buffer on the way can fill up and stall both.
    func sendAndReceiveAllHashed(_ payload: [UInt8]) throws -> (count: Int, digest: SHA256.Digest) {
        let writer = Thread {
            try? self.send(payload)
            self.shutdownWrite()
        }
        writer.start()
        return try receiveAllHashed()
    }
}

final class Recorder: @unchecked Sendable {  // `list` is under `lock`
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ text: String) { lock.withLock { list.append(text) } }
    var all: [String] { lock.withLock { list } }
}
