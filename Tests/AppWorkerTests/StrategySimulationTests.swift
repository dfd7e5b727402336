import Shared
import TestSupport
import Testing

@testable import AppWorker

/// The strategy figure of the README, as a test: heterogeneity must beat random on both measures
/// over the full 100,000 arbitrations, and the simulation must be reproducible from its seed.
@Suite struct StrategySimulationTests {
    @Test func heterogeneityBeatsRandomOnDiversityAndOnVulnerableMajorities() {
        let simulation = StrategySimulation(arbitrations: 100_000, seed: 7)
        let heterogeneity = simulation.run(.heterogeneity)
        let random = simulation.run(.random)
        #expect(heterogeneity.heterogeneity > random.heterogeneity)
        #expect(heterogeneity.vulnerableMajority < random.vulnerableMajority)
    }

    @Test func theSameSeedGivesTheSameFigure() {
        let simulation = StrategySimulation(arbitrations: 3_000, seed: 11)
        for strategy in SelectionStrategy.allCases {
            #expect(simulation.run(strategy) == simulation.run(strategy))
        }
        let other = StrategySimulation(arbitrations: 3_000, seed: 12)
        #expect(other.run(.random) != simulation.run(.random))
    }

    @Test func theCommandPrintsTheTableAndRefusesBadUsageWithExitTwo() throws {
        let worker = try BuiltProducts.path("mimic-worker")
        let run = try ChildProcess.runCapturing(
            executable: worker,
            arguments: ["simulate-strategies", "--arbitrations", "2000"])
        #expect(run.status == 0)
        let rows = run.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| strategy") }
        #expect(
            rows.map { $0.split(separator: "|").first.map { $0.trimmingCharacters(in: .whitespaces) } }
                == ["heterogeneity", "random", "round_robin"])
        let bad = try ChildProcess.runCapturing(
            executable: worker, arguments: ["simulate-strategies", "--attack-rate", "2"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--attack-rate and --fault-rate must be between 0 and 1"))
        let help = try ChildProcess.runCapturing(executable: worker, arguments: ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("simulate-strategies"))
    }
}
