import Scheduling
import Shared

/// The attack figure of the README (issue 16): runs the real `ExecutorPool` over simulated hours
/// of traffic under one attacker model and one selection strategy, and measures how long a
/// compromised executor stays online, how often a compromised majority decides a vote, how often
/// a healthy executor is ejected, and how often `online` is not full. Seeded and deterministic:
/// the pool, the traffic and the attacker each draw from their own generator.
///
/// One arbitration of ordinary traffic per simulated second; driver actions (create, clean) take
/// `driverSeconds`, so ejections cost standbys and availability as they would on real hosts; the
/// rotation clock draws each period from `rotate_every × (1 ± rotate_jitter)` like the worker's.
struct AttackSimulation {
    enum Model: String, CaseIterable, Sendable {
        /// An exploit for one trait value: online executors with it are compromised by the first
        /// attack request that reaches them and answer every attack request differently.
        case exploit
        /// The exploit, plus now and then a request that makes one healthy executor of another
        /// variant fail on the attacked URL, so that the URL looks broken rather than the executor.
        case laundering
        /// The exploit, paced to stay under `abnormal.dissents` per `abnormal.window`.
        case slowDrip = "slow_drip"
        /// One URL on which every executor answers differently; no compromise.
        case poisonURL = "poison_url"
        /// No attacker: random dissents of flaky executors and `degraded` health blips.
        case benignNoise = "benign_noise"
    }

    /// How timed rotation draws its periods (issue 16, item 4).
    enum Rotation: String, CaseIterable, Sendable {
        /// One clock, each period `rotate_every × (1 ± rotate_jitter)`, rotating the longest-online.
        case clock
        /// `rotate_per_executor`: each executor's own time online, exponential, same mean rate.
        case perExecutor = "per_executor"
    }

    /// Which negative feedback decides (issue 16, item 3).
    enum Policy: String, CaseIterable, Sendable {
        /// The fixed-threshold rules alone: `abnormal.dissents` per `window`, URL suspicion.
        case fixed
        /// The fixed rules plus `scheduling.learning` with its defaults.
        case learned
    }

    struct Result: Sendable, Equatable {
        var model: Model
        var strategy: SelectionStrategy
        var rotation: Rotation
        var policy: Policy = .fixed
        /// How long each compromised executor stayed online, in ms; one still online at the end
        /// counts with the time it had (a lower bound).
        var dwellsMs: [Int64]
        /// Arbitrations decided while compromised executors were a majority of `online`.
        var escapes: Int
        var arbitrations: Int
        /// Healthy executors taken out of `online` as abnormal.
        var falseEjections: Int
        /// Simulated seconds in which `online` held `replicas.online` executors.
        var fullSeconds: Int
        var seconds: Int
        /// URLs the scheduler blacklisted during the run.
        var blacklisted: Set<String>

        func dwellPercentileSeconds(_ percentile: Double) -> Double {
            guard !dwellsMs.isEmpty else { return 0 }
            let sorted = dwellsMs.sorted()
            // Nearest rank: the smallest dwell with at least `percentile` of them at or below it.
            let rank = Int((percentile * Double(sorted.count)).rounded(.up))
            return Double(sorted[min(sorted.count, max(1, rank)) - 1]) / 1000
        }

        var escapeRate: Double { arbitrations == 0 ? 0 : Double(escapes) / Double(arbitrations) }
        var falseEjectionsPerHour: Double { seconds == 0 ? 0 : Double(falseEjections) * 3600 / Double(seconds) }
        var availability: Double { seconds == 0 ? 0 : Double(fullSeconds) / Double(seconds) }
    }

    var hours = 6.0
    var seed: UInt64 = 7
    var rotateEverySeconds = 600
    var rotateJitter = 0.2
    var abnormalDissents = 3
    var windowSeconds = 60
    var driverSeconds = 20
    /// Seconds between two attack requests (exploit, laundering, poison URL).
    var attackEverySeconds = 5
    /// Every this many attack requests, the laundering attacker makes a healthy executor fail.
    var launderEvery = 3
    /// Benign noise: chance per arbitration that one random executor dissents, and per second
    /// that one random executor is reported `degraded`.
    var dissentNoise = 0.02
    var healthBlips = 0.01
    /// The exploited trait; two of the six variants carry it.
    var exploitedTrait = ("lang", "php")

    static let attackedURL = "/admin/upload?f=x.php"
    static let poisonURL = "/search?q=%ff%fe"

    var seconds: Int { max(1, Int((hours * 3600).rounded())) }

    func config(_ strategy: SelectionStrategy, rotation: Rotation = .clock, policy: Policy = .fixed) -> AppConfig {
        AppConfig(
            app: "sim", redis: RedisSettings(),
            replicas: Replicas(online: 3, standby: 3, minOnline: 2, retainDirty: 0),
            variants: StrategySimulation.variants,
            hosts: [
                HostConfig(
                    name: "sim", address: "127.0.0.1", driver: .command,
                    command: CommandHooks(create: ["true"], clean: ["true"], remove: ["true"], list: ["true"]))
            ],
            scheduling: Scheduling(
                strategy: strategy, rotateEvery: .seconds(rotateEverySeconds), abnormalDissents: abnormalDissents,
                abnormalWindow: .seconds(windowSeconds), seed: seed, rotateJitter: rotateJitter,
                rotatePerExecutor: rotation == .perExecutor, learning: Learning(enabled: policy == .learned)))
    }

    /// Seconds between attack requests for `model`: the slow drip sends at most `dissents - 1`
    /// inside any window.
    func attackPeriod(_ model: Model) -> Int {
        switch model {
        case .slowDrip: windowSeconds / max(1, abnormalDissents - 1) + 1
        case .exploit, .laundering, .poisonURL: max(1, attackEverySeconds)
        case .benignNoise: 0
        }
    }

    func run(
        _ model: Model, _ strategy: SelectionStrategy, rotation: Rotation = .clock, policy: Policy = .fixed
    ) -> Result {
        let config = config(strategy, rotation: rotation, policy: policy)
        var run = AttackRun(
            pool: ExecutorPool(settings: .init(config: config), seed: seed),
            traits: Dictionary(uniqueKeysWithValues: StrategySimulation.variants.map { ($0.name, $0.traits) }),
            exploited: exploitedTrait, driverMs: Int64(driverSeconds) * 1000)
        // Traffic and attacker draw from their own generator, so every strategy faces the same.
        var stream = SchedulerRandom(seed: seed &+ 1)
        var clock = SchedulerRandom(seed: seed &+ 2)
        var result = Result(
            model: model, strategy: strategy, rotation: rotation, policy: policy, dwellsMs: [], escapes: 0,
            arbitrations: 0,
            falseEjections: 0,
            fullSeconds: 0, seconds: seconds, blacklisted: [])
        run.apply(run.pool.handle(.replenish(cause: .message("start")), now: run.now), into: &result)
        run.completeAll(into: &result)
        let rotateMs = Int64(rotateEverySeconds) * 1000
        func nextRotation() -> Int64 {
            let factor = 1 + Double.random(in: -rotateJitter...rotateJitter, using: &clock)
            return max(1000, Int64(Double(rotateMs) * factor))
        }
        var rotationAt = run.now + nextRotation()
        let period = attackPeriod(model)
        var attacks = 0
        for second in 0..<seconds {
            run.now += 1000
            run.completeDue(into: &result)
            if rotation == .clock, rotateMs > 0, run.now >= rotationAt {
                run.apply(run.pool.handle(.rotationDue, now: run.now), into: &result)
                rotationAt = run.now + nextRotation()
            }
            // Per-executor rotation is checked on the housekeeping tick, as in the worker (500 ms there).
            if rotation == .perExecutor || second % 10 == 0 {
                run.apply(run.pool.handle(.housekeeping, now: run.now), into: &result)
            }

            // Ordinary traffic: compromised executors answer it like the others.
            var dissenters: [String] = []
            let online = run.pool.ids(in: .online)
            if model == .benignNoise {
                if Double.random(in: 0..<1, using: &stream) < dissentNoise,
                    let flaky = online.randomElement(using: &stream)
                {
                    dissenters = [flaky]
                }
                if Double.random(in: 0..<1, using: &stream) < healthBlips,
                    let blip = online.randomElement(using: &stream)
                {
                    let report = HealthReport(executor: blip, status: .degraded, latencyMs: 900)
                    run.apply(
                        run.pool.handle(.message(.health(report), cause: "blip-\(second)"), now: run.now), into: &result
                    )
                }
            }
            run.arbitrate(
                url: "/page/\(Int.random(in: 0..<50, using: &stream))", dissenters: dissenters, cause: "r\(second)",
                into: &result)

            guard period > 0, second % period == 0 else {
                if run.pool.count(.online) >= config.replicas.online { result.fullSeconds += 1 }
                continue
            }
            attacks += 1
            switch model {
            case .poisonURL:
                run.arbitrate(
                    url: Self.poisonURL, dissenters: run.pool.ids(in: .online), cause: "p\(second)", into: &result)
            case .exploit, .laundering, .slowDrip:
                run.attack(cause: "a\(second)", into: &result)
                if model == .laundering, attacks % launderEvery == 0,
                    let stray = run.pool.ids(in: .online).filter({ !run.compromised.keys.contains($0) })
                        .randomElement(using: &stream)
                {
                    run.arbitrate(url: Self.attackedURL, dissenters: [stray], cause: "l\(second)", into: &result)
                }
            case .benignNoise:
                break
            }
            if run.pool.count(.online) >= config.replicas.online { result.fullSeconds += 1 }
        }
        // Still online at the end: the dwell so far, a lower bound.
        for (_, since) in run.compromised { result.dwellsMs.append(run.now - since) }
        return result
    }

    /// One line per row, as the issue asks.
    static func resultLine(_ result: Result) -> String {
        "RESULT mode=attacks model=\(result.model.rawValue) strategy=\(result.strategy.rawValue) "
            + "policy=\(result.policy.rawValue) "
            + "dwell_p50_s=\(StrategySimulation.format(result.dwellPercentileSeconds(0.5), digits: 1)) "
            + "dwell_p99_s=\(StrategySimulation.format(result.dwellPercentileSeconds(0.99), digits: 1)) "
            + "escape_rate=\(StrategySimulation.format(result.escapeRate, digits: 4)) "
            + "false_ejections_per_h=\(StrategySimulation.format(result.falseEjectionsPerHour, digits: 2)) "
            + "availability=\(StrategySimulation.format(result.availability, digits: 4)) "
            + "rotation=\(result.rotation.rawValue)"
    }

    /// The README table.
    func table(_ results: [Result]) -> String {
        var lines = [
            "| model | strategy | policy | rotation | compromised | dwell p50 (s) | dwell p99 (s) | escape rate | false ejections / h | availability | blacklisted |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for result in results {
            lines.append(
                "| \(result.model.rawValue) | \(result.strategy.rawValue) | \(result.policy.rawValue) | "
                    + "\(result.rotation.rawValue) | "
                    + "\(result.dwellsMs.count) | "
                    + "\(StrategySimulation.format(result.dwellPercentileSeconds(0.5), digits: 1)) | "
                    + "\(StrategySimulation.format(result.dwellPercentileSeconds(0.99), digits: 1)) | "
                    + "\(StrategySimulation.format(result.escapeRate, digits: 4)) | "
                    + "\(StrategySimulation.format(result.falseEjectionsPerHour, digits: 2)) | "
                    + "\(StrategySimulation.format(result.availability, digits: 4)) | "
                    + "\(result.blacklisted.sorted().joined(separator: " ")) |")
        }
        lines.append("")
        lines.append(
            "\(StrategySimulation.format(hours, digits: 1)) simulated hours per row, seed \(seed), 3 online + 3 standby over "
                + "\(StrategySimulation.variants.count) variants, exploit for \(exploitedTrait.0)=\(exploitedTrait.1) "
                + "(2 variants), abnormal.dissents \(abnormalDissents) per \(windowSeconds) s, rotate_every "
                + "\(rotateEverySeconds) s ± \(rotateJitter), driver actions \(driverSeconds) s, one arbitration per "
                + "second, an attack request every \(attackEverySeconds) s (slow drip: every "
                + "\(attackPeriod(.slowDrip)) s); policy learned: scheduling.learning with its defaults (half_life "
                + "\(DurationText.format(Learning().halfLife)), eject_below \(Learning().ejectBelow)), fixed: learning off."
        )
        return lines.joined(separator: "\n")
    }
}

/// The mutable side of one simulated run: the pool, the driver actions in flight, and which
/// online executors the attacker owns since when.
private struct AttackRun {
    var pool: ExecutorPool
    let traits: [String: [String: String]]
    let exploited: (String, String)
    let driverMs: Int64
    var now: Int64 = 1_000_000
    var inFlight: [(due: Int64, action: DriverAction)] = []
    var compromised: [String: Int64] = [:]
    var port = 20_000

    init(pool: ExecutorPool, traits: [String: [String: String]], exploited: (String, String), driverMs: Int64) {
        self.pool = pool
        self.traits = traits
        self.exploited = exploited
        self.driverMs = driverMs
    }

    mutating func apply(_ decision: Decision, into result: inout AttackSimulation.Result) {
        for transition in decision.transitions where transition.from == .online {
            if let since = compromised.removeValue(forKey: transition.executor) {
                result.dwellsMs.append(now - since)
            } else if transition.reason.hasPrefix("abnormal") {
                result.falseEjections += 1
            }
        }
        for change in decision.listChanges where change.list == .blacklist && change.op == .add {
            result.blacklisted.insert(change.url)
        }
        inFlight += decision.actions.map { (now + driverMs, $0) }
    }

    mutating func completeDue(into result: inout AttackSimulation.Result) {
        while let index = inFlight.firstIndex(where: { $0.due <= now }) {
            let action = inFlight.remove(at: index).action
            port += 1
            apply(pool.handle(.actionSucceeded(action, endpoint: "127.0.0.1:\(port)"), now: now), into: &result)
        }
    }

    /// At start-up the fleet is built before the clock runs.
    mutating func completeAll(into result: inout AttackSimulation.Result) {
        while !inFlight.isEmpty {
            let action = inFlight.removeFirst().action
            port += 1
            apply(pool.handle(.actionSucceeded(action, endpoint: "127.0.0.1:\(port)"), now: now), into: &result)
        }
    }

    mutating func arbitrate(
        url: String, dissenters: [String], cause: String, into result: inout AttackSimulation.Result
    ) {
        let online = pool.ids(in: .online)
        result.arbitrations += 1
        if compromised.count * 2 > online.count { result.escapes += 1 }
        let arbitration = Arbitration(
            requestId: cause, url: url, method: "GET", executors: online, dissenters: dissenters)
        apply(pool.handle(.message(.arbitration(arbitration), cause: cause), now: now), into: &result)
    }

    /// An attack request: it compromises every online executor with the exploited trait that is
    /// not yet owned; the owned ones answer alike. A minority of them dissents; a majority wins
    /// the vote and the healthy executors are the dissenters.
    mutating func attack(cause: String, into result: inout AttackSimulation.Result) {
        let online = pool.ids(in: .online)
        for id in online where compromised[id] == nil {
            if let variant = pool.executors[id]?.variant, traits[variant]?[exploited.0] == exploited.1 {
                compromised[id] = now
            }
        }
        let owned = online.filter { compromised[$0] != nil }
        let dissenters = owned.count * 2 > online.count ? online.filter { compromised[$0] == nil } : owned
        arbitrate(url: AttackSimulation.attackedURL, dissenters: dissenters, cause: cause, into: &result)
    }
}
