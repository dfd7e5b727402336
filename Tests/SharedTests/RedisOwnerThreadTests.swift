import Foundation
import Testing

@testable import Shared

/// The Redis owner thread as a task executor: a task that prefers it runs there and its calls skip
/// the hop; everyone else's calls still run on it; a stopped thread refuses calls and strands no task.
@Suite("Redis owner thread")
struct RedisOwnerThreadTests {
    @Test func aTaskThatPrefersItRunsOnItAcrossAwaits() async throws {
        let owner = RedisOwnerThread(name: "test-redis")
        defer { owner.stop() }
        #expect(!owner.isCurrent)
        let seen = await withTaskExecutorPreference(owner) { () async -> [Bool] in
            var seen = [owner.isCurrent]
            try? await Task.sleep(for: .milliseconds(5))
            seen.append(owner.isCurrent)
            seen.append(await Counter().bump() == 1 && owner.isCurrent)
            return seen
        }
        #expect(seen == [true, true, true])
    }

    @Test func callsFromElsewhereRunOnItOneAtATimeInOrder() async throws {
        let owner = RedisOwnerThread(name: "test-redis")
        defer { owner.stop() }
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let onOwner = try await owner.run { () -> Bool in
                        order.append(index)
                        return owner.isCurrent
                    }
                    #expect(onOwner)
                }
            }
            try await group.waitForAll()
        }
        #expect(order.values.sorted() == Array(0..<200))
        #expect(order.maxConcurrent == 1)
    }

    @Test func aStoppedThreadRefusesCallsAndStillFinishesTasksThatPreferIt() async throws {
        let owner = RedisOwnerThread(name: "test-redis")
        owner.stop()
        await #expect(throws: RedisError.closed) { try await owner.run { 1 } }
        // The thread has ended (or ends once its queue is empty): a task that prefers it must not hang.
        let finished = await withTaskExecutorPreference(owner) { () async -> Bool in
            try? await Task.sleep(for: .milliseconds(5))
            return true
        }
        #expect(finished)
    }
}

private actor Counter {
    var count = 0
    func bump() -> Int {
        count += 1
        return count
    }
}

/// Records the order of calls and how many ran at once.
private final class Order: @unchecked Sendable {
    private let lock = NSLock()
    private var running = 0
    private(set) var values: [Int] = []
    private(set) var maxConcurrent = 0

    func append(_ value: Int) {
        lock.lock()
        running += 1
        maxConcurrent = max(maxConcurrent, running)
        values.append(value)
        lock.unlock()
        usleep(50)
        lock.lock()
        running -= 1
        lock.unlock()
    }
}
