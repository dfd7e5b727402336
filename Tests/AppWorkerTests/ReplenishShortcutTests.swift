import Shared
import Testing

@testable import Scheduling

/// `replenish` skips its passes when `mayReplenish` says none of them could act. Random pools
/// hold it to that: wherever the shortcut is taken, the full passes change nothing, announce
/// nothing and draw no random number.
@Suite struct ReplenishShortcutTests {
    static let states: [ExecutorState] = [.initializing, .standby, .online, .dirty, .cleaning, .offline]

    static func randomPool(_ rng: inout SchedulerRandom) -> ExecutorPool {
        let strategies: [SelectionStrategy] = [.heterogeneity, .random, .roundRobin]
        let config = Fixtures.config(
            online: Int.random(in: 1...4, using: &rng), standby: Int.random(in: 0...3, using: &rng),
            minOnline: 1, strategy: strategies.randomElement(using: &rng)!)
        let executors = (1..<Int.random(in: 1...10, using: &rng)).map { number in
            let state = states.randomElement(using: &rng)!
            return Executor(
                id: "e\(number)", variant: ["v1", "v2", "v3"].randomElement(using: &rng)!,
                host: ["h1", "h2"].randomElement(using: &rng)!, state: state, since: Int64(number),
                reason: "test", flagged: state == .online && Bool.random(using: &rng))
        }
        return ExecutorPool(
            settings: .init(config: config), executors: executors,
            meta: .init(nextExecutorNumber: 10, paused: Int.random(in: 0..<4, using: &rng) == 0), seed: 7)
    }

    @Test func theSkippedPassesWouldHaveDoneNothing() {
        var rng = SchedulerRandom(seed: 20_261_130)
        var skipped = 0
        var skippedUnsteady = 0
        for _ in 0..<20_000 {
            let pool = Self.randomPool(&rng)
            let census = PoolCensus(pool.executors.values)
            guard !pool.mayReplenish(census) else { continue }
            skipped += 1
            if !pool.isSteady(census) { skippedUnsteady += 1 }
            var full = pool
            var decision = Decision()
            full.replenishPools(cause: .timer, now: 100, into: &decision)
            #expect(decision.isEmpty, "\(pool.executors.values.map { ($0.id, $0.state, $0.flagged) })")
            #expect(full.executors == pool.executors)
            #expect(full.meta == pool.meta)
            #expect(full.creationStall == pool.creationStall)
            var drawnFull = full.random
            var drawnSkipped = pool.random
            #expect(drawnFull.next() == drawnSkipped.next(), "the full passes drew a random number")
        }
        // Both kinds of skip must occur, or the check above proved nothing about them.
        #expect(skipped > 1_000)
        #expect(skippedUnsteady > 500)
    }

    /// The case the shortcut is for: an alert storm keeps every replacement on its way back, so
    /// online is short of the target with no standby to promote and nothing left to create.
    @Test func poolsShortOfOnlineWithEverythingOnItsWayAreLeftAlone() {
        let executors = [
            Executor(id: "e1", variant: "v1", host: "h1", state: .online, since: 1, reason: "t"),
            Executor(id: "e2", variant: "v2", host: "h1", state: .online, since: 1, reason: "t"),
            Executor(id: "e3", variant: "v3", host: "h2", state: .cleaning, since: 1, reason: "t"),
            Executor(id: "e4", variant: "v1", host: "h2", state: .initializing, since: 1, reason: "t"),
            Executor(id: "e5", variant: "v2", host: "h2", state: .cleaning, since: 1, reason: "t"),
        ]
        var pool = ExecutorPool(
            settings: .init(config: Fixtures.config()), executors: executors, meta: .init(nextExecutorNumber: 6),
            seed: 7)
        #expect(!pool.mayReplenish(PoolCensus(pool.executors.values)))
        // One more executor gone and the pools are short: creating one is work again.
        pool.executors["e5"]?.state = .offline
        #expect(pool.mayReplenish(PoolCensus(pool.executors.values)))
        var decision = Decision()
        pool.replenish(cause: .timer, now: 2, into: &decision)
        #expect(decision.actions.map(\.kind) == [.create])
    }
}
