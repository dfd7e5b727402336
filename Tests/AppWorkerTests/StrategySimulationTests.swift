@testable import AppWorker
import Shared
import Testing

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
}
