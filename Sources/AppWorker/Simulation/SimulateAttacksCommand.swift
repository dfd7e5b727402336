import ArgumentParser
import Shared

/// `mimic-worker simulate-attacks`: prints the attack table of the README and one `RESULT` line
/// per row (deterministic for a given seed). No Redis, no hosts: it drives the executor pool in
/// memory against each attacker model.
struct SimulateAttacksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimic-worker simulate-attacks",
        abstract:
            "Runs every selection strategy against every attacker model (exploit, laundering, slow drip, poison URL, benign noise) over the same seeded traffic and prints dwell time, escapes, false ejections and availability."
    )

    @Option(help: "Simulated hours per model and strategy.")
    var hours: Double = 6

    @Option(help: "Seed of the pool, the traffic and the attacker.")
    var seed: UInt64 = 7

    @Option(
        name: .customLong("rotate-every"), help: "Seconds between timed rotations (jittered by ±0.2); 0 turns them off."
    )
    var rotateEvery: Int = 600

    func validate() throws {
        // Bounded so a typo cannot start a run of days: 1000 simulated hours is about 3.6 M arbitrations a row.
        guard hours > 0, hours <= 1000 else { throw ValidationError("--hours must be in (0, 1000]") }
        guard (0...86_400).contains(rotateEvery) else {
            throw ValidationError("--rotate-every must be in [0, 86400] seconds")
        }
    }

    func run() {
        let simulation = AttackSimulation(hours: hours, seed: seed, rotateEverySeconds: rotateEvery)
        var results: [AttackSimulation.Result] = []
        for model in AttackSimulation.Model.allCases {
            for strategy in SelectionStrategy.allCases {
                let result = simulation.run(model, strategy)
                print(AttackSimulation.resultLine(result))
                results.append(result)
            }
        }
        // Item 3: the learned feedback on top of the fixed rules, for the default strategy and our
        // random baseline, on the same streams.
        for model in AttackSimulation.Model.allCases {
            for strategy in [SelectionStrategy.heterogeneity, .random] {
                let result = simulation.run(model, strategy, policy: .learned)
                print(AttackSimulation.resultLine(result))
                results.append(result)
            }
        }
        // Item 4: the slow drip outlasts the dissent rule, so rotation bounds it; each executor's
        // own draw against the one clock.
        for strategy in SelectionStrategy.allCases {
            let result = simulation.run(.slowDrip, strategy, rotation: .perExecutor)
            print(AttackSimulation.resultLine(result))
            results.append(result)
        }
        print("")
        print(simulation.table(results))
    }
}
