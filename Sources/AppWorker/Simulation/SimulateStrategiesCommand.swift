import ArgumentParser
import Shared

/// `mimic-worker simulate-strategies`: prints the strategy table of the README (deterministic for
/// a given seed). No Redis, no hosts: it drives the executor pool in memory.
struct SimulateStrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimic-worker simulate-strategies",
        abstract: "Runs every selection strategy over the same seeded stream of arbitrations with attacks on chosen traits and prints the comparison table.")

    @Option(help: "Arbitrations per strategy.")
    var arbitrations: Int = 100_000

    @Option(help: "Seed of the pool and of the attack stream.")
    var seed: UInt64 = 7

    func validate() throws {
        guard arbitrations > 0 else { throw ValidationError("--arbitrations must be at least 1") }
    }

    func run() {
        let simulation = StrategySimulation(arbitrations: arbitrations, seed: seed)
        let results = SelectionStrategy.allCases.map { simulation.run($0) }
        print(StrategySimulation.table(results, arbitrations: arbitrations, seed: seed))
    }
}
