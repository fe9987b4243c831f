import NIOConcurrencyHelpers

/// The work did not finish in time.
struct DeadlinePassed: Error {
    let limit: Duration
}

/// `work`'s result, or `DeadlinePassed` once `limit` has gone by. A database
/// that stopped answering (SIGSTOP, a dead link) leaves a query waiting for
/// TCP to give up, minutes later; the member waiting for an answer should hear
/// within seconds. The abandoned work is cancelled and ends on its own.
func withDeadline<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let waiter = NIOLockedValueBox<CheckedContinuation<T, any Error>?>(nil)
    return try await withCheckedThrowingContinuation { continuation in
        waiter.withLockedValue { $0 = continuation }
        let task = Task {
            let result: Result<T, any Error>
            do { result = .success(try await work()) } catch { result = .failure(error) }
            waiter.withLockedValue { pending in
                defer { pending = nil }
                return pending
            }?.resume(with: result)
        }
        Task {
            try? await Task.sleep(for: limit)
            guard let pending = waiter.withLockedValue({ pending in
                defer { pending = nil }
                return pending
            }) else { return }
            task.cancel()
            pending.resume(throwing: DeadlinePassed(limit: limit))
        }
    }
}
