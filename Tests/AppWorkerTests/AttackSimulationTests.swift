import Shared
import TestSupport
import Testing

@testable import AppWorker

/// The attack figure of the README (issue 16), as a test over one simulated hour: the laundering
/// attacker must fare no better than the plain exploit, the poison URL must be blacklisted with
/// nobody ejected, and the figure must be reproducible from its seed.
@Suite struct AttackSimulationTests {
    static let simulation = AttackSimulation(hours: 1, seed: 7)

    @Test(arguments: [SelectionStrategy.heterogeneity, .random])
    func launderingDwellsNoLongerThanTheExploit(_ strategy: SelectionStrategy) {
        let exploit = Self.simulation.run(.exploit, strategy)
        let laundering = Self.simulation.run(.laundering, strategy)
        #expect(exploit.dwellsMs.count >= 3, "the exploit compromises executors again and again")
        #expect(laundering.dwellsMs.count >= 3)
        #expect(laundering.dwellPercentileSeconds(0.5) <= exploit.dwellPercentileSeconds(0.5))
        #expect(laundering.dwellPercentileSeconds(0.99) <= exploit.dwellPercentileSeconds(0.99))
        // The plain exploit is caught by the dissent rule within the window, far from rotation.
        #expect(exploit.dwellPercentileSeconds(0.5) < Double(Self.simulation.windowSeconds))
    }

    @Test(arguments: [SelectionStrategy.heterogeneity, .random])
    func thePoisonURLIsBlacklistedAndEjectsNobody(_ strategy: SelectionStrategy) {
        let poison = Self.simulation.run(.poisonURL, strategy)
        #expect(poison.falseEjections == 0)
        #expect(poison.dwellsMs.isEmpty)
        #expect(poison.blacklisted == [AttackSimulation.poisonURL])
        #expect(poison.availability == 1)
    }

    @Test func theSlowDripOutlastsTheDissentRuleUntilRotation() {
        let drip = Self.simulation.run(.slowDrip, .heterogeneity)
        #expect(!drip.dwellsMs.isEmpty)
        #expect(drip.dwellPercentileSeconds(0.5) > Double(Self.simulation.windowSeconds), "under the threshold")
    }

    /// Item 3: the learned feedback sees the slow drip the window misses (its third dissent on the
    /// pattern at the latest), ejects nobody more under benign noise, and still only blacklists the
    /// poison URL without ejecting anyone.
    @Test(arguments: [SelectionStrategy.heterogeneity, .random])
    func theLearnedFeedbackEndsTheSlowDripWithoutMoreFalseEjections(_ strategy: SelectionStrategy) {
        let simulation = Self.simulation
        let fixed = simulation.run(.slowDrip, strategy)
        let learned = simulation.run(.slowDrip, strategy, policy: .learned)
        #expect(!learned.dwellsMs.isEmpty)
        #expect(
            learned.dwellPercentileSeconds(0.99) <= Double(2 * simulation.attackPeriod(.slowDrip)),
            "ejected at the third dissent on the pattern at the latest")
        #expect(learned.dwellPercentileSeconds(0.5) < fixed.dwellPercentileSeconds(0.5))
        let noise = simulation.run(.benignNoise, strategy)
        let learnedNoise = simulation.run(.benignNoise, strategy, policy: .learned)
        #expect(learnedNoise.falseEjections <= noise.falseEjections)
        let poison = simulation.run(.poisonURL, strategy, policy: .learned)
        #expect(poison.falseEjections == 0 && poison.dwellsMs.isEmpty)
        #expect(poison.blacklisted == [AttackSimulation.poisonURL])
    }

    @Test func perExecutorRotationAlsoBoundsTheSlowDrip() {
        let drip = Self.simulation.run(.slowDrip, .heterogeneity, rotation: .perExecutor)
        #expect(!drip.dwellsMs.isEmpty)
        #expect(drip.falseEjections == 0)
    }

    @Test func theSameSeedGivesTheSameFigure() {
        let short = AttackSimulation(hours: 0.25, seed: 11)
        for model in AttackSimulation.Model.allCases {
            #expect(short.run(model, .heterogeneity) == short.run(model, .heterogeneity))
        }
        let other = AttackSimulation(hours: 0.25, seed: 12)
        #expect(other.run(.exploit, .random) != short.run(.exploit, .random))
    }

    @Test func theCommandPrintsOneResultLinePerRowAndRefusesBadUsageWithExitTwo() throws {
        let worker = try BuiltProducts.path("mimic-worker")
        let run = try ChildProcess.runCapturing(executable: worker, arguments: ["simulate-attacks", "--hours", "0.1"])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").filter { $0.hasPrefix("RESULT mode=attacks ") }
        // Every model with the rotation clock and the fixed rules; every model with the learned
        // feedback for heterogeneity and random; the slow drip again with per-executor rotation.
        let strategies = SelectionStrategy.allCases.count
        let models = AttackSimulation.Model.allCases.count
        #expect(rows.count == models * strategies + models * 2 + strategies)
        #expect(rows.filter { $0.contains(" policy=learned ") }.count == models * 2)
        #expect(
            rows.filter { $0.hasSuffix("rotation=per_executor") && $0.contains("model=slow_drip") }.count == strategies)
        for key in [
            "model=", "strategy=", "policy=", "dwell_p50_s=", "dwell_p99_s=", "escape_rate=", "false_ejections_per_h=",
            "availability=",
        ] {
            #expect(rows.allSatisfy { $0.contains(key) }, "\(key)")
        }
        let bad = try ChildProcess.runCapturing(executable: worker, arguments: ["simulate-attacks", "--hours", "0"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--hours must be in (0, 1000]"))
    }
}
