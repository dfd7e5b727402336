import Shared

/// Chooses which standby goes online next (DESIGN section 7, "Selection").
struct StandbySelection: Sendable, Equatable {
    var strategy: SelectionStrategy
    /// Variant name to traits, from the app config.
    var traits: [String: [String: String]]

    /// Number of traits on which two variants differ; a trait one of them lacks counts as differing.
    func distance(_ left: String, _ right: String) -> Int {
        let a = traits[left] ?? [:]
        let b = traits[right] ?? [:]
        return Set(a.keys).union(b.keys).reduce(0) { $0 + (a[$1] == b[$1] ? 0 : 1) }
    }

    /// Picks from `candidates` to join `online`. `heterogeneity`: a random seed when nothing is online,
    /// else the candidate farthest (summed pairwise trait distance) from the online set, ties broken
    /// by confidence, then at random. `round_robin`: the one waiting longest.
    func pick(from candidates: [Executor], joining online: [Executor],
              random: inout SchedulerRandom) -> Executor? {
        guard !candidates.isEmpty else { return nil }
        switch strategy {
        case .random:
            return candidates.randomElement(using: &random)
        case .roundRobin:
            return candidates.min { ($0.since, $0.id) < ($1.since, $1.id) }
        case .heterogeneity:
            guard !online.isEmpty else { return candidates.randomElement(using: &random) }
            let scored = candidates.map { candidate in
                (candidate, online.reduce(0) { $0 + distance(candidate.variant, $1.variant) })
            }
            let best = scored.map(\.1).max()!
            let farthest = scored.filter { $0.1 == best }.map(\.0)
            let topConfidence = farthest.map(\.confidence).max()!
            // Confidence moves in small steps; treat near-equal values as a tie so randomness stays.
            let finalists = farthest.filter { topConfidence - $0.confidence < 0.01 }
            return finalists.randomElement(using: &random)
        }
    }
}
