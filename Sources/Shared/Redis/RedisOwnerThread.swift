import Foundation

/// The one thread a `RedisClient`'s hiredis connection is used on, and a `TaskExecutor`.
///
/// Callers elsewhere hop here for each call and back (`run`). A task that prefers this executor
/// (`withTaskExecutorPreference`; the worker's scheduler loop) runs its own code on this thread, so
/// its Redis calls run inline: two thread wakeups fewer per call. On the 2-core VM issue 15 was
/// measured on, a wakeup costs about 25 µs of latency and 18 µs of CPU (`mimic-bench latency`'s
/// `wakeup_us`), and at a paced rate the loop commits about once per message.
///
/// Blocking hiredis calls still run on this thread only: never on the cooperative pool or an event
/// loop.
final class RedisOwnerThread: TaskExecutor, @unchecked Sendable {
    private enum Work {
        case job(UnownedJob)
        case call(() -> Void)
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Work] = []
    private var stopping = false
    /// The thread has ended: jobs of tasks that still prefer this executor go to the global one.
    private var finished = false
    private var owner: pthread_t?
    private var queued = 0

    init(name: String) {
        // The thread holds the executor until `stop` lets it end.
        let thread = Thread { [self] in
            ThreadName.setCurrent(name)
            serve()
        }
        thread.start()
        condition.lock()
        while owner == nil { condition.wait() }
        condition.unlock()
    }

    /// Whether the caller is on this thread (set once, before `init` returns).
    var isCurrent: Bool {
        guard let owner else { return false }
        return pthread_equal(pthread_self(), owner) != 0
    }

    /// Calls queued for the thread so far (`run` and `submit`), not jobs of a task that prefers it.
    var queuedCalls: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        guard !finished else {
            condition.unlock()
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
            return
        }
        queue.append(.job(unowned))
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on this thread; throws `RedisError.closed` once `stop` was called.
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = submit { continuation.resume(with: Swift.Result(catching: body)) }
            if !accepted { continuation.resume(throwing: RedisError.closed) }
        }
    }

    /// Queues `call` unless stopping; false when it was not queued.
    @discardableResult
    func submit(_ call: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        queued &+= 1
        queue.append(.call(call))
        condition.signal()
        return true
    }

    /// No new calls; what is queued still runs, then the thread ends.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        condition.lock()
        owner = pthread_self()
        condition.broadcast()
        condition.unlock()
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                finished = true
                condition.unlock()
                return
            }
            let work = queue
            queue.removeAll(keepingCapacity: true)
            condition.unlock()
            for item in work {
                switch item {
                case .job(let job): job.runSynchronously(on: executor)
                case .call(let call): call()
                }
            }
        }
    }
}
