import Testing

@testable import AppWorker
@testable import Scheduling
@testable import Shared

/// Issue 16, item 4: with `rotate_per_executor` each executor's time online is its own draw,
/// exponential with mean `online × rotate_every`, checked on the housekeeping tick.
@Suite struct ExecutorRotationTests {
    typealias F = PolicyFixtures

    static func config(perExecutor: Bool) -> AppConfig {
        F.config(scheduling: Scheduling(rotateEvery: .seconds(600), seed: 1, rotatePerExecutor: perExecutor))
    }

    @Test func eachOnlineExecutorIsRotatedAtItsOwnTimeAndNotBefore() throws {
        var pool = F.filledPool(Self.config(perExecutor: true), now: 1_000)
        let online = pool.ids(in: .online)
        let due = Dictionary(
            uniqueKeysWithValues: online.map {
                ($0, pool.executors[$0]!.since + pool.onlineLifetimeMs($0, since: pool.executors[$0]!.since))
            })
        #expect(Set(due.values).count == online.count, "each executor has a time of its own")
        let first = try #require(due.min { $0.value < $1.value })
        let early = pool.handle(.housekeeping, now: first.value - 1)
        #expect(early.transitions.isEmpty)
        let tick = pool.handle(.housekeeping, now: first.value)
        let rotated = tick.transitions.filter { $0.from == .online }
        #expect(rotated.map(\.executor) == [first.key])
        #expect(rotated.first?.to == .cleaning && rotated.first?.cause == "timer")
        #expect(rotated.first?.reason.contains("rotate_per_executor") == true)
        #expect(pool.count(.online) == 3, "a standby took its place")
    }

    @Test func theDrawKeepsTheClocksRateAndIsMemoryless() {
        let pool = F.filledPool(Self.config(perExecutor: true))
        let mean = 3.0 * 600_000
        let draws = (0..<20_000).map { Double(pool.onlineLifetimeMs("e\($0 % 7)", since: Int64($0) * 1_000)) }
        let average = draws.reduce(0, +) / Double(draws.count)
        #expect(abs(average - mean) / mean < 0.05, "mean \(average)")
        // Memoryless: of those still online after one mean, about the same share as at the start
        // (e^-1) survives one more mean.
        let pastOne = draws.filter { $0 > mean }
        let pastTwo = draws.filter { $0 > 2 * mean }
        let share = Double(pastTwo.count) / Double(pastOne.count)
        #expect(abs(share - 0.3679) < 0.03, "share \(share)")
        #expect(draws.allSatisfy { $0 <= ExecutorPool.lifetimeCapInMeans * mean })
    }

    @Test func theClockModeIgnoresTheDrawAndTheSeedFixesIt() {
        var clock = F.filledPool(Self.config(perExecutor: false))
        let ids = clock.ids(in: .online)
        // Past the longest time any of them could draw.
        let late =
            ids.map { clock.executors[$0]!.since }.max()! + Int64(ExecutorPool.lifetimeCapInMeans * 3 * 600_000) + 1
        #expect(clock.handle(.housekeeping, now: late).transitions.isEmpty, "only the rotation clock rotates")
        let again = F.filledPool(Self.config(perExecutor: true))
        #expect(ids.map { again.onlineLifetimeMs($0, since: 5) } == ids.map { clock.onlineLifetimeMs($0, since: 5) })
        #expect(
            clock.onlineLifetimeMs(ids[0], since: 5) != clock.onlineLifetimeMs(ids[0], since: 6), "a draw per stint")
    }
}
