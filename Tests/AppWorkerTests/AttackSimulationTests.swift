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
        // Every model with the rotation clock, and the slow drip again with per-executor rotation.
        let strategies = SelectionStrategy.allCases.count
        #expect(rows.count == AttackSimulation.Model.allCases.count * strategies + strategies)
        #expect(
            rows.filter { $0.hasSuffix("rotation=per_executor") && $0.contains("model=slow_drip") }.count == strategies)
        for key in [
            "model=", "strategy=", "dwell_p50_s=", "dwell_p99_s=", "escape_rate=", "false_ejections_per_h=",
            "availability=",
        ] {
            #expect(rows.allSatisfy { $0.contains(key) }, "\(key)")
        }
        let bad = try ChildProcess.runCapturing(executable: worker, arguments: ["simulate-attacks", "--hours", "0"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--hours must be in (0, 1000]"))
    }
}
