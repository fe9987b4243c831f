import NIOConcurrencyHelpers
import NIOCore

/// Every open connection, so a shutdown can tell each one the relay is
/// going away instead of dropping them.
final class ConnectionSet: @unchecked Sendable {  // every mutable field is read and written under `lock`
    private let lock = NIOLock()
    private var channels: [ObjectIdentifier: Channel] = [:]

    func add(_ channel: Channel) {
        lock.withLock { channels[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { _ in
            self.lock.withLock { _ = self.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    var all: [Channel] { lock.withLock { Array(channels.values) } }
}
