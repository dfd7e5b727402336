import Foundation
import PropertyBased
import Testing

@testable import AppWorker
@testable import Scheduling
@testable import Shared

/// DESIGN section 10 on the pure pool: the same events give the same decisions whether or not
/// the pool was rebuilt in between from what a commit stores (executors, meta, lists, published
/// weights, down hosts and the policy memory, the latter through its JSON as Redis keeps it).
/// The real-process version is `RestartEquivalenceE2ETests`; this one explores many sequences.
@Suite struct RestartEquivalenceTests {
    typealias Run = PolicyPropertyTests.Run

    /// The pool a restarted worker builds from Redis after the commit of the last decision.
    static func restarted(_ pool: ExecutorPool, config: AppConfig) throws -> ExecutorPool {
        let stored = try #require(PolicyMemory(json: pool.policyMemory.json), "the memory reads back")
        #expect(stored == pool.policyMemory)
        return ExecutorPool(
            settings: .init(config: config), executors: Array(pool.executors.values), meta: pool.meta, seed: 5,
            publishedWeights: pool.publishedWeights, lists: pool.policy.lists,
            downHosts: Set(pool.settings.placement.hosts).subtracting(pool.healthyHosts), memory: stored)
    }

    /// The fixed rules alone (`scheduling.learning` off).
    @Test func restartsBetweenAnyTwoEventsChangeNoDecision() async {
        await Self.checkRestarts { shape in
            var config = PolicyPropertyTests.config(shape)
            config.scheduling.learning.enabled = false
            return config
        }
    }

    /// The same with the learned feedback on (issue 16 item 3): its faded evidence, evictions
    /// (three patterns kept of the four URLs the steps use) and trust-gated selections are part of
    /// the memory. A short half-life, so the steps' clock makes the evidence fade.
    @Test func restartsBetweenAnyTwoEventsChangeNoDecisionWithLearning() async {
        await Self.checkRestarts { shape in
            var config = PolicyPropertyTests.config(shape)
            config.scheduling.learning = Learning(
                enabled: true, halfLife: .seconds(20), ejectBelow: 0.3, maxPatterns: 3)
            return config
        }
    }

    static func checkRestarts(_ configFor: @escaping @Sendable (Int) -> AppConfig) async {
        await propertyCheck(
            count: 200, input: Gen.int(in: 0...575), Gen.int(in: 0...1_000_000).array(of: 1...120),
            Gen.int(in: 1...1_000_000)
        ) { shape, steps, restartPattern in
            let config = configFor(shape)
            var straight = Run(config: config)
            var restarting = Run(config: config)
            for (index, value) in steps.enumerated() {
                _ = straight.step(value)
                _ = straight.pool.onlinePublication(app: "shop")
                _ = restarting.step(value)
                _ = restarting.pool.onlinePublication(app: "shop")
                // A restart after roughly one step in three, where the pattern's bits say.
                if (restartPattern >> (index % 20)) & 1 == 1, index % 3 == 0 {
                    restarting.pool = (try? Self.restarted(restarting.pool, config: config)) ?? restarting.pool
                }
                #expect(restarting.pool.executors == straight.pool.executors, "step \(index): executors differ")
                #expect(restarting.pool.policyMemory == straight.pool.policyMemory, "step \(index): memory differs")
                #expect(restarting.pool.meta == straight.pool.meta)
                if restarting.pool.executors != straight.pool.executors { return }
            }
        }
    }

    @Test func theMemoryRoundTripsThroughItsJSON() throws {
        var state = PolicyState()
        state.dissentTimes = ["e1": [1_795_948_383_000, 1_795_948_384_000]]
        state.degradedTimes = ["e2": [5]]
        state.lowAlertTimes = ["e3": [6, 7]]
        state.urlDissents = ["/a?b=\"c\"": [.init(time: 9, executor: "e1", variant: "v1")]]
        state.variantTrust = ["v1": 0.1 * 0.9 * 0.9 * 0.9, "v2": 1.0 / 3.0]
        state.lastTimedRotation = 12
        var learned = LearnedTrust()
        learned.learn(
            pattern: "/a?*", agreeing: ["v1", "v1"], dissenting: ["v2"], now: 1_795_948_383_000, halfLifeMs: 600_000,
            maxPatterns: 8)
        learned.learn(
            pattern: "/a?*", agreeing: ["v2"], dissenting: [], now: 1_795_948_399_123, halfLifeMs: 600_000,
            maxPatterns: 8)
        state.learned = learned
        let memory = PolicyMemory(
            policy: state, random: UInt64.max, failedCreates: ["h1": 2], creationStall: "no host")
        #expect(PolicyMemory(json: memory.json) == memory, "doubles and UInt64 survive exactly")
        #expect(memory.json.contains("\"learned\":{\"patterns\":{\"/a?*\":"))
        // A memory written before learning existed (no `learned` key) still loads.
        state.learned = nil
        let older = PolicyMemory(policy: state, random: 3)
        #expect(!older.json.contains("learned"))
        #expect(PolicyMemory(json: older.json) == older)
        #expect(PolicyMemory(json: "{\"policy\":17}") == nil)
        #expect(PolicyMemory(json: "not json") == nil)
    }
}
