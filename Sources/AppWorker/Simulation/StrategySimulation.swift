import Scheduling
import Shared

/// The strategy figure of the README: runs the real `ExecutorPool` with each selection strategy
/// over the same seeded stream of arbitrations with attack campaigns on chosen traits, and
/// measures what heterogeneity is for. Driver actions complete at once; time advances 100 ms per
/// arbitration; a timed rotation comes every `rotateEvery` arbitrations.
///
/// An attack arbitration compromises every online executor that has the campaign's trait: they
/// answer alike and differently from the rest. If they are a minority they dissent (and get
/// replaced like any dissenter); if they are a majority the attack wins the vote.
struct StrategySimulation {
    struct Result: Sendable, Equatable {
        var strategy: SelectionStrategy
        /// Mean over arbitrations of the mean pairwise trait distance of the online set, 0...1.
        var heterogeneity: Double
        /// Share of arbitrations in which a majority of online executors had the attacked trait.
        var vulnerableMajority: Double
        /// Attack arbitrations whose compromised executors outvoted the rest.
        var attacksWon: Int
        var attacks: Int
        /// Online executors replaced because of an anomaly.
        var replacements: Int
    }

    static let variants: [Variant] = [
        Variant(name: "nginx-php", traits: ["os": "debian", "web": "nginx", "lang": "php", "db": "mysql"]),
        Variant(name: "apache-java", traits: ["os": "centos", "web": "apache", "lang": "java", "db": "postgres"]),
        Variant(name: "caddy-go", traits: ["os": "alpine", "web": "caddy", "lang": "go", "db": "sqlite"]),
        Variant(name: "apache-python", traits: ["os": "debian", "web": "apache", "lang": "python", "db": "postgres"]),
        Variant(name: "nginx-node", traits: ["os": "centos", "web": "nginx", "lang": "node", "db": "mysql"]),
        Variant(name: "nginx-php-pg", traits: ["os": "ubuntu", "web": "nginx", "lang": "php", "db": "postgres"]),
    ]

    var arbitrations = 100_000
    var seed: UInt64 = 7
    var rotateEvery = 500
    var campaignLength = 500
    var attackRate = 0.05
    var faultRate = 0.01

    func run(_ strategy: SelectionStrategy) -> Result {
        let config = AppConfig(
            app: "sim", redis: RedisSettings(),
            replicas: Replicas(online: 3, standby: 3, minOnline: 2, retainDirty: 0),
            variants: Self.variants,
            hosts: [
                HostConfig(
                    name: "sim", address: "127.0.0.1", driver: .command,
                    command: CommandHooks(create: ["true"], clean: ["true"], remove: ["true"], list: ["true"]))
            ],
            scheduling: Scheduling(strategy: strategy, rotateEvery: .seconds(50), seed: seed))
        let selection = StandbySelection(
            strategy: strategy,
            traits: Dictionary(
                uniqueKeysWithValues: Self.variants.map { ($0.name, $0.traits) }))
        var pool = ExecutorPool(settings: .init(config: config), seed: seed)
        // The attack stream comes from its own generator, so every strategy faces the same one.
        var stream = SchedulerRandom(seed: seed &+ 1)
        let traitValues = Array(Set(Self.variants.flatMap { $0.traits.map { "\($0.key)=\($0.value)" } })).sorted()
        var now: Int64 = 1_000_000
        settle(&pool, pool.handle(.replenish(cause: .message("start")), now: now), now: now)

        var heterogeneitySum = 0.0
        var vulnerable = 0
        var attacks = 0
        var attacksWon = 0
        var replacements = 0
        var target = traitValues[0]
        for index in 0..<arbitrations {
            now += 100
            if index % campaignLength == 0 { target = traitValues.randomElement(using: &stream)! }
            if index > 0, index % rotateEvery == 0 {
                settle(&pool, pool.handle(.rotationDue, now: now), now: now)
            }
            let online = pool.ids(in: .online).compactMap { pool.executors[$0] }
            heterogeneitySum += Self.meanDistance(online, selection: selection)
            let (key, value) = Self.split(target)
            let compromised = online.filter { selection.traits[$0.variant]?[key] == value }.map(\.id)
            if compromised.count * 2 > online.count { vulnerable += 1 }

            var dissenters: [String] = []
            var url = "/page/\(Int.random(in: 0..<50, using: &stream))"
            if Double.random(in: 0..<1, using: &stream) < attackRate, !compromised.isEmpty {
                attacks += 1
                url = "/attack/\(index / campaignLength)"
                if compromised.count * 2 > online.count {
                    attacksWon += 1
                    dissenters = online.map(\.id).filter { !compromised.contains($0) }
                } else {
                    dissenters = compromised
                }
            } else if Double.random(in: 0..<1, using: &stream) < faultRate,
                let faulty = online.randomElement(using: &stream)
            {
                dissenters = [faulty.id]
            }
            let arbitration = Arbitration(
                requestId: "r\(index)", url: url, method: "GET",
                executors: online.map(\.id), dissenters: dissenters)
            let decision = pool.handle(.message(.arbitration(arbitration), cause: "sim-\(index)"), now: now)
            replacements += decision.transitions.filter { $0.from == .online && $0.reason.hasPrefix("abnormal") }.count
            settle(&pool, decision, now: now)
        }
        return Result(
            strategy: strategy, heterogeneity: heterogeneitySum / Double(arbitrations),
            vulnerableMajority: Double(vulnerable) / Double(arbitrations), attacksWon: attacksWon,
            attacks: attacks, replacements: replacements)
    }

    /// Completes every driver action the decision asked for, and those that follow from them.
    private func settle(_ pool: inout ExecutorPool, _ decision: Decision, now: Int64) {
        var actions = decision.actions
        var port = 20_000
        while !actions.isEmpty {
            let action = actions.removeFirst()
            port += 1
            actions += pool.handle(.actionSucceeded(action, endpoint: "127.0.0.1:\(port)"), now: now).actions
        }
    }

    static func meanDistance(_ online: [Executor], selection: StandbySelection) -> Double {
        guard online.count > 1 else { return 0 }
        let traitCount = Double(Set(selection.traits.values.flatMap(\.keys)).count)
        var sum = 0.0
        var pairs = 0.0
        for i in online.indices {
            for j in online.indices where j > i {
                sum += Double(selection.distance(online[i].variant, online[j].variant)) / traitCount
                pairs += 1
            }
        }
        return sum / pairs
    }

    private static func split(_ trait: String) -> (String, String) {
        let parts = trait.split(separator: "=", maxSplits: 1).map(String.init)
        return (parts[0], parts[1])
    }

    /// The README table.
    func table(_ results: [Result]) -> String {
        var lines = [
            "| strategy | mean pairwise heterogeneity | arbitrations with a vulnerable majority | attacks won | anomaly replacements |",
            "|---|---|---|---|---|",
        ]
        for result in results {
            lines.append(
                "| \(result.strategy.rawValue) | \(Self.format(result.heterogeneity, digits: 3)) | "
                    + "\(Self.format(result.vulnerableMajority * 100, digits: 2)) % | \(result.attacksWon) of \(result.attacks) | "
                    + "\(result.replacements) |")
        }
        lines.append("")
        lines.append(
            "\(arbitrations) arbitrations per strategy, seed \(seed), 3 online + 3 standby over "
                + "\(Self.variants.count) variants, a timed rotation every \(rotateEvery) arbitrations, a new attacked "
                + "trait every \(campaignLength), attack rate \(attackRate), fault rate \(faultRate).")
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        let decimals = text.split(separator: ".").last?.count ?? 0
        if !text.contains(".") { text += "." }
        return text + String(repeating: "0", count: max(0, digits - decimals))
    }
}
