import Shared

/// Chooses which standby goes online next (DESIGN section 7, "Selection").
package struct StandbySelection: Sendable, Equatable {
    package var strategy: SelectionStrategy
    /// Variant name to traits, from the app config.
    package var traits: [String: [String: String]]

    package init(strategy: SelectionStrategy, traits: [String: [String: String]]) {
        self.strategy = strategy
        self.traits = traits
    }

    /// Number of traits on which two variants differ; a trait one of them lacks counts as differing.
    package func distance(_ left: String, _ right: String) -> Int {
        let a = traits[left] ?? [:]
        let b = traits[right] ?? [:]
        return Set(a.keys).union(b.keys).reduce(0) { $0 + (a[$1] == b[$1] ? 0 : 1) }
    }

    /// Picks from `candidates` to join `online`. `heterogeneity`: a random seed when nothing is online,
    /// else the candidate farthest (summed pairwise trait distance) from the online set, ties broken
    /// by variant trust, then confidence, then at random. `round_robin`: the one waiting longest.
    /// `variantTrust` (0.1...1 per variant, 1 when absent) also weights the random draws, so a variant
    /// whose executors dissent often is chosen less; round robin ignores it, being a fixed order.
    func pick(
        from unordered: [Executor], joining online: [Executor], variantTrust: [String: Double] = [:],
        random: inout SchedulerRandom
    ) -> Executor? {
        guard !unordered.isEmpty else { return nil }
        // Callers collect candidates from a dictionary, whose order differs from process to process
        // (seeded hashing): in id order, the same random draw picks the same executor after a
        // restart (DESIGN section 10).
        let candidates = unordered.sorted { $0.id < $1.id }
        func trust(_ executor: Executor) -> Double { variantTrust[executor.variant] ?? 1 }
        switch strategy {
        case .random:
            return Self.weighted(candidates, weight: trust, random: &random)
        case .roundRobin:
            return candidates.min { ($0.since, $0.id) < ($1.since, $1.id) }
        case .heterogeneity:
            guard !online.isEmpty else { return Self.weighted(candidates, weight: trust, random: &random) }
            let scored = candidates.map { candidate in
                (candidate, online.reduce(0) { $0 + distance(candidate.variant, $1.variant) })
            }
            let best = scored.map(\.1).max()!
            let farthest = scored.filter { $0.1 == best }.map(\.0)
            // Heterogeneity first: trust and confidence only decide between equally distant
            // candidates. Both move in small steps; near-equal values tie so randomness stays.
            let topTrust = farthest.map(trust).max()!
            let trusted = farthest.filter { topTrust - trust($0) < 0.01 }
            let topConfidence = trusted.map(\.confidence).max()!
            let finalists = trusted.filter { topConfidence - $0.confidence < 0.01 }
            return finalists.randomElement(using: &random)
        }
    }

    /// A draw proportional to `weight`; uniform when every weight is equal, so an untroubled fleet
    /// keeps the plain random choice.
    static func weighted(
        _ candidates: [Executor], weight: (Executor) -> Double,
        random: inout SchedulerRandom
    ) -> Executor? {
        let weights = candidates.map { max(0, weight($0)) }
        let total = weights.reduce(0, +)
        guard total > 0, Set(weights).count > 1 else { return candidates.randomElement(using: &random) }
        var point = Double.random(in: 0..<total, using: &random)
        for (candidate, weight) in zip(candidates, weights) {
            if point < weight { return candidate }
            point -= weight
        }
        return candidates.last
    }
}
