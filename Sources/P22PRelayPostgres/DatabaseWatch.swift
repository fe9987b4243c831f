import ServiceLifecycle

/// Keeps the relay's view of its database current while it runs: the
/// reservation gauge, and the log line when a lost database is back. Ends the
/// database connections when the relay shuts down.
public struct DatabaseWatch: Service {
    let store: PostgresReservationStore
    let interval: Duration

    public init(store: PostgresReservationStore, interval: Duration = .seconds(15)) {
        self.store = store
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { break }
                await store.refreshCount()
            }
        }
        store.close()
    }
}
