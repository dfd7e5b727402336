import Foundation

/// Runs `operation` but gives up after `limit`, throwing `DriverError(message)`. The operation
/// runs in a task of its own and is only cancelled, not awaited, on timeout: a driver call that
/// ignores cancellation (a hung socket, a stuck library call) must not hold its caller too.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ message: @autoclosure @escaping @Sendable () -> String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.arm(continuation)
            let work = Task {
                do {
                    race.finish(.success(try await operation()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                try await Task.sleep(for: limit)
                if race.finish(.failure(DriverError(message()))) { work.cancel() }
            }
            race.onFinish { timer.cancel() }
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of the operation and the timer to finish resumes the continuation; the other is ignored.
private final class DeadlineRace<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var result: Result<T, any Error>?
    private var cleanup: (@Sendable () -> Void)?

    func arm(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = lock.withLock {
            if let result { return result }
            self.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let done = lock.withLock {
            if result != nil { return true }
            self.cleanup = cleanup
            return false
        }
        if done { cleanup() }
    }

    @discardableResult
    func finish(_ outcome: Result<T, any Error>) -> Bool {
        typealias Pending = (continuation: CheckedContinuation<T, any Error>?, cleanup: (@Sendable () -> Void)?)
        let pending: Pending? = lock.withLock {
            guard result == nil else { return nil }
            result = outcome
            defer {
                self.continuation = nil
                self.cleanup = nil
            }
            return (self.continuation, self.cleanup)
        }
        guard let pending else { return false }
        let continuation = pending.continuation
        let cleanup = pending.cleanup
        continuation?.resume(with: outcome)
        cleanup?()
        return true
    }
}
