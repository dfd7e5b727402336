import Shared

/// Keeps distinct variants online when the standbys allow it. Promotion is greedy in time: at
/// start-up (or after several replacements) whichever standby is ready first goes online, so two
/// executors of one build can serve side by side while another build waits in standby, which is
/// exactly what heterogeneity is meant to prevent. One swap per call puts the waiting build in.
extension ExecutorPool {
    mutating func diversify(cause: Cause, now: Int64, into decision: inout Decision) {
        guard !meta.paused, settings.selection.strategy == .heterogeneity else { return }
        let online = executors.values.filter { $0.state == .online }.sorted { $0.id < $1.id }
        var perVariant: [String: Int] = [:]
        for executor in online { perVariant[executor.variant, default: 0] += 1 }
        var waiting = executors.values
            .filter { $0.state == .standby && perVariant[$0.variant] == nil }
            .sorted { $0.id < $1.id }
        // A build the learned feedback keeps out is not worth a swap. Asked only when a swap is
        // possible at all: this runs after every event.
        if !waiting.isEmpty, perVariant.values.contains(where: { $0 > 1 }) {
            let attacked = variantsUnderAttack(now: now)
            waiting.removeAll { attacked.contains($0.variant) }
        }
        // The duplicate to step back: the least trusted, then the newest (the others have served longest).
        let duplicate = online.filter { (perVariant[$0.variant] ?? 0) > 1 }
            .min { ($0.confidence, -$0.since, $0.id) < ($1.confidence, -$1.since, $1.id) }
        guard let duplicate, !waiting.isEmpty,
            let chosen = settings.selection.pick(
                from: waiting, joining: online.filter { $0.id != duplicate.id },
                variantTrust: policy.variantTrust, random: &random)
        else { return }
        move(
            duplicate.id, to: .standby,
            reason: "stepped back: variant \(duplicate.variant) twice online while \(chosen.variant) waits",
            cause: cause, now: now, into: &decision)
        move(
            chosen.id, to: .online, reason: "selected (heterogeneity): variant \(chosen.variant) not online",
            cause: cause, now: now, into: &decision)
    }
}
