import ArgumentParser
import Shared

/// `mimic-worker simulate-strategies`: prints the strategy table of the README (deterministic for
/// a given seed). No Redis, no hosts: it drives the executor pool in memory.
struct SimulateStrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimic-worker simulate-strategies",
        abstract:
            "Runs every selection strategy over the same seeded stream of arbitrations with attacks on chosen traits and prints the comparison table."
    )

    @Option(help: "Arbitrations per strategy.")
    var arbitrations: Int = 100_000

    @Option(help: "Seed of the pool and of the attack stream.")
    var seed: UInt64 = 7

    @Option(
        name: .customLong("attack-rate"), help: "Share of arbitrations that carry an attack on the campaign's trait.")
    var attackRate: Double = 0.05

    @Option(
        name: .customLong("fault-rate"), help: "Share of the other arbitrations in which one random executor dissents.")
    var faultRate: Double = 0.01

    @Option(name: .customLong("campaign-length"), help: "Arbitrations per attack campaign (one attacked trait each).")
    var campaignLength: Int = 500

    func validate() throws {
        guard arbitrations > 0, campaignLength > 0 else {
            throw ValidationError("--arbitrations and --campaign-length must be at least 1")
        }
        guard (0...1).contains(attackRate), (0...1).contains(faultRate) else {
            throw ValidationError("--attack-rate and --fault-rate must be between 0 and 1")
        }
    }

    func run() {
        let simulation = StrategySimulation(
            arbitrations: arbitrations, seed: seed, campaignLength: campaignLength,
            attackRate: attackRate, faultRate: faultRate)
        let results = SelectionStrategy.allCases.map { simulation.run($0) }
        print(simulation.table(results))
    }
}
