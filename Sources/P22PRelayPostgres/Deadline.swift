import NIOConcurrencyHelpers

/// The work did not finish in time.
struct DeadlinePassed: Error {
    let limit: Duration
}

/// `work`'s result, or `DeadlinePassed` once `limit` has gone by. A database
/// that stopped answering (SIGSTOP, a dead link) leaves a query waiting for
/// TCP to give up, minutes later; the member waiting for an answer should hear
/// within seconds. The abandoned work is cancelled; a query already sent
/// ends when the server's statement_timeout ends it. Cancelling the caller
/// cancels the work.
func withDeadline<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let waiter = NIOLockedValueBox<CheckedContinuation<T, any Error>?>(nil)
    let tasks = NIOLockedValueBox<(work: Task<Void, Never>?, timer: Task<Void, Never>?)>((nil, nil))
    /// The one who takes the continuation answers; everyone else finds none.
    @Sendable func take() -> CheckedContinuation<T, any Error>? {
        waiter.withLockedValue { pending in
            defer { pending = nil }
            return pending
        }
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            waiter.withLockedValue { $0 = continuation }
            let workTask = Task {
                let result: Result<T, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                tasks.withLockedValue { $0.timer }?.cancel()
                take()?.resume(with: result)
            }
            let timerTask = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled, let pending = take() else { return }
                workTask.cancel()
                pending.resume(throwing: DeadlinePassed(limit: limit))
            }
            tasks.withLockedValue { $0 = (workTask, timerTask) }
        }
    } onCancel: {
        let (workTask, timerTask) = tasks.withLockedValue { $0 }
        workTask?.cancel()
        timerTask?.cancel()
        take()?.resume(throwing: CancellationError())
    }
}
