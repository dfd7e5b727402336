import Shared

/// Self-learning negative feedback (issue 16 item 3, `scheduling.learning`): the arbitration log,
/// after learning, acts on both brackets. The fixed rules judge the last `abnormal.window`; these
/// judge the faded history per URL pattern (`LearnedTrust`), so an attacker who stays under the
/// threshold is still seen, and the next executor of an attacked build is known before it dissents
/// three times:
/// - a dissent on a pattern on which its variant's learned trust is below `eject_below` is an
///   anomaly, however far apart the earlier dissents were;
/// - a standby of a variant distrusted on some pattern stays in standby while another can go
///   online, until the evidence fades (the attack stopped) — so an attacked build is not brought
///   back while the attack goes on;
/// - a pattern with a bad reputation on which `feedback.variants` variants dissented repeatedly
///   goes to the blacklist (`feedback.suspect_ttl`) like a suspected URL;
/// - each executor's published weight is its confidence times its variant's learned trust.
/// Only arbitrations with a majority teach: without one the request is suspect and says nothing
/// about the builds.
extension ExecutorPool {
    /// A variant is distrusted on a pattern when it dissented there more than it agreed, more
    /// than once and a half (faded): one stray dissent on a rarely requested URL is not enough.
    static let distrustedTrust = 0.5
    static let distrustedDissents = 1.5

    var learningHalfLifeMs: Int64 { settings.policy.learning.halfLife.milliseconds }

    mutating func learn(
        _ arbitration: Arbitration, dissenters: Set<String>, cause: Cause, now: Int64,
        into decision: inout Decision
    ) {
        let learning = settings.policy.learning
        guard learning.enabled, let url = arbitration.url, let pattern = LearnedTrust.pattern(of: url) else { return }
        // Most arbitrations agree on a pattern nobody dissented on, which teaches nothing
        // (`LearnedTrust.patterns`): decided before collecting and sorting the executors.
        guard !dissenters.isEmpty || policy.learned?.patterns[pattern] != nil else { return }
        let halfLife = learningHalfLifeMs
        var agreeing: [String] = []
        var dissenting: [String] = []
        for id in Set(arbitration.executors).sorted() {
            guard let variant = executors[id]?.variant else { continue }
            if dissenters.contains(id) { dissenting.append(variant) } else { agreeing.append(variant) }
        }
        // Learned in place: a copy taken out and written back would share the patterns' storage
        // while `learn` writes, and copy every pattern on every arbitration.
        if policy.learned == nil { policy.learned = LearnedTrust() }
        policy.learned!.learn(
            pattern: pattern, agreeing: agreeing, dissenting: dissenting, now: now, halfLifeMs: halfLife,
            maxPatterns: learning.maxPatterns)
        guard !dissenting.isEmpty, let learned = policy.learned else { return }

        if learning.ejectBelow > 0 {
            for id in dissenters.sorted() {
                // The dissent rule may have taken it out already in this arbitration.
                guard let executor = executors[id], executor.state == .online, !executor.flagged else { continue }
                let trust = learned.trust(executor.variant, on: pattern, now: now, halfLifeMs: halfLife)
                guard trust < learning.ejectBelow else { continue }
                abnormal(
                    id,
                    reason: "learned: variant \(executor.variant) trusted \(Self.rounded(trust)) on \(pattern), "
                        + "below learning.eject_below=\(Self.rounded(learning.ejectBelow))",
                    cause: cause, now: now, into: &decision)
            }
        }
        suspectLearnedPattern(pattern, learned: learned, cause: cause, now: now, into: &decision)
    }

    /// Blacklists `pattern` when its reputation is bad (more arbitrations with a dissent than
    /// without) and `feedback.variants` variants dissented there repeatedly: the long-horizon form
    /// of the fixed rule's "several variants failing on one URL at once", for builds that fail on
    /// it at different times (they take turns online). Quiet while the pattern is blacklisted with more than half its TTL left or is
    /// whitelisted, as the attack goes on arbitration after arbitration.
    mutating func suspectLearnedPattern(
        _ pattern: String, learned: LearnedTrust, cause: Cause, now: Int64, into decision: inout Decision
    ) {
        let feedback = settings.policy.feedback
        guard feedback.blacklistSuspects, LearnedTrust.isBlacklistable(pattern),
            !policy.lists.matches(.whitelist, pattern),
            let record = learned.record(pattern, now: now, halfLifeMs: learningHalfLifeMs)
        else { return }
        if let expiry = policy.lists.entries[.blacklist]?[pattern],
            expiry.map({ $0 - now > feedback.suspectTTL.milliseconds / 2 }) ?? true
        {
            return
        }
        let failing = record.variants.filter { $0.value.dissents > Self.distrustedDissents }
        let reputation = learned.reputation(pattern, now: now, halfLifeMs: learningHalfLifeMs)
        guard failing.count >= feedback.variants, reputation < Self.distrustedTrust else { return }
        let named = failing.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.rounded($0.value.dissents))" }
        suspect(
            url: pattern,
            why: "learned: reputation \(Self.rounded(reputation)), dissents of \(named.joined(separator: ", ")) "
                + "(half-life \(DurationText.format(settings.policy.learning.halfLife)))",
            outcome: "their dissents count", cause: cause, now: now, into: &decision)
    }

    /// The variants a standby of which should not go online now: distrusted below `eject_below`
    /// on some pattern, so its next dissent there would eject it again.
    func variantsUnderAttack(now: Int64) -> Set<String> {
        let learning = settings.policy.learning
        guard learning.enabled, learning.ejectBelow > 0, let learned = policy.learned else { return [] }
        var found: Set<String> = []
        for record in learned.patterns.values {
            let factor = LearnedTrust.fading(from: record.seen, to: now, halfLifeMs: learningHalfLifeMs)
            for (variant, evidence) in record.variants where evidence.faded(by: factor).trust < learning.ejectBelow {
                found.insert(variant)
            }
        }
        return found
    }

    /// Standbys that may go online: those of variants not under attack, unless that leaves none
    /// (a full online set comes first; the learned ejection still catches a dissent).
    func admissible(_ standbys: [Executor], now: Int64) -> [Executor] {
        let attacked = variantsUnderAttack(now: now)
        guard !attacked.isEmpty else { return standbys }
        let trusted = standbys.filter { !attacked.contains($0.variant) }
        return trusted.isEmpty ? standbys : trusted
    }

    /// The learned trust of a variant for the published weight: its lowest trust on a pattern it
    /// is distrusted on, as of the last learned arbitration (publication has no clock of its own,
    /// and must give the same weights after a restart); 1 when learning is off or it is trusted.
    func learnedVariantTrust(_ variant: String) -> Double {
        guard settings.policy.learning.enabled, let learned = policy.learned else { return 1 }
        let latest = learned.patterns.values.map(\.seen).max() ?? 0
        var lowest = 1.0
        for key in learned.patterns.keys {
            guard let evidence = learned.evidence(variant, on: key, now: latest, halfLifeMs: learningHalfLifeMs),
                evidence.trust < Self.distrustedTrust, evidence.dissents > Self.distrustedDissents
            else { continue }
            lowest = min(lowest, evidence.trust)
        }
        return lowest
    }

    static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}
