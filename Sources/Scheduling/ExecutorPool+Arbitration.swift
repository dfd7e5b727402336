import Shared

/// Arbitration results from the right bracket (DESIGN section 7): per-executor confidence and
/// dissent counting (enough dissents inside the window are an anomaly), per-variant trust, and
/// the arbitration-log negative feedback: when the evidence points at a request rather than at
/// the executors, the URL is suspected and published to the left bracket's blacklist. This is the
/// guard against an attacker who finds a URL that makes every backend look broken.
///
/// The evidence is the vote (issue 16). A dissent against a majority of diverse executors is
/// always counted against the dissenter: a blacklisted or suspected URL forgives nothing, because
/// an attacker who can make another variant fail once on the attacked URL, or get it blacklisted,
/// would otherwise launder every later dissent of the executor they own. Only an arbitration
/// without a majority is blamed on the request alone.
extension ExecutorPool {
    /// Confidence and variant trust are multiplied by these on each dissent.
    static let dissentFactor = 0.85
    static let variantDissentFactor = 0.9

    mutating func arbitrate(_ arbitration: Arbitration, cause: Cause, now: Int64, into decision: inout Decision) {
        let dissenters = Set(arbitration.dissenters)
        // Half or more dissenting means there was no majority: the request, not the executors, is
        // suspect, and penalising them would let one crafted URL empty the online set.
        if !dissenters.isEmpty, dissenters.count * 2 >= arbitration.executors.count {
            suspect(
                url: arbitration.url,
                why: "no majority, \(dissenters.count) of \(arbitration.executors.count) "
                    + "executors dissented", cause: cause, now: now, into: &decision)
            return
        }
        recordURLVerdicts(arbitration, dissenters: dissenters, cause: cause, now: now, into: &decision)
        for id in arbitration.executors {
            guard var executor = executors[id] else { continue }
            adjustVariantTrust(executor.variant, dissented: dissenters.contains(id))
            if dissenters.contains(id) {
                executor.confidence = max(0.05, executor.confidence * Self.dissentFactor)
                var times = policy.dissentTimes[id, default: []].filter { now - $0 < settings.abnormalWindowMs }
                times.append(now)
                policy.dissentTimes[id] = times
                executor.dissents = times.count
                executors[id] = executor
                decision.touched.insert(id)
                if executor.state == .online, times.count >= settings.abnormalDissents {
                    abnormal(
                        id, reason: "\(times.count) dissents within \(settings.abnormalWindowMs) ms",
                        cause: cause, now: now, into: &decision)
                }
            } else if executor.confidence < 1 {
                executor.confidence = min(1, executor.confidence + (1 - executor.confidence) * 0.05 + 0.001)
                executors[id] = executor
                decision.touched.insert(id)
            }
        }
        learn(arbitration, dissenters: dissenters, cause: cause, now: now, into: &decision)
    }

    /// Keeps, per URL, the dissents of variants that are failing on it: a variant's dissent stands
    /// until one of its executors answers with the majority on that URL, which shows the build
    /// handles the request and the dissent was the executor's own (a dying or a compromised
    /// one). When executors of `feedback.variants` different variants are failing on the URL at
    /// once inside the abnormal window, the request is what they have in common: the URL is
    /// suspected and blacklisted, so the left bracket stops sending it. Their dissents still count.
    mutating func recordURLVerdicts(
        _ arbitration: Arbitration, dissenters: Set<String>, cause: Cause, now: Int64,
        into decision: inout Decision
    ) {
        guard let url = arbitration.url, !url.isEmpty else { return }
        // Most arbitrations are agreements on URLs with no standing dissent: nothing to do.
        guard !dissenters.isEmpty || policy.urlDissents[url] != nil else { return }
        let window = settings.abnormalWindowMs
        let agreeing = Set(
            arbitration.executors.filter { !dissenters.contains($0) }.compactMap { executors[$0]?.variant })
        var standing = policy.urlDissents[url, default: []].filter {
            now - $0.time < window && !agreeing.contains($0.variant)
        }
        for id in dissenters.sorted() {
            guard let executor = executors[id], !agreeing.contains(executor.variant) else { continue }
            standing.append(.init(time: now, executor: id, variant: executor.variant))
        }
        let variants = Set(standing.map(\.variant)).sorted()
        guard variants.count >= settings.policy.feedback.variants else {
            policy.urlDissents[url] = standing.isEmpty ? nil : standing
            return
        }
        policy.urlDissents[url] = nil
        suspect(
            url: url,
            why: "executors of \(variants.count) variants (\(variants.joined(separator: ", "))) "
                + "are failing on it within \(window) ms",
            outcome: "their dissents count: a majority agreed", cause: cause, now: now, into: &decision)
    }

    /// Publishes a suspected URL to the blacklist for `feedback.suspect_ttl` (unless the feature
    /// is off or the URL is whitelisted) and records why, and what happened to the executors'
    /// dissents (`outcome`): not penalised when there was no majority, counted otherwise.
    mutating func suspect(
        url: String?, why: String, outcome: String = "executors not penalised", cause: Cause, now: Int64,
        into decision: inout Decision
    ) {
        guard let url, !url.isEmpty else {
            decision.notes.append(
                .init(
                    executor: nil, reason: "request suspected: \(why); \(outcome)",
                    cause: cause))
            return
        }
        let feedback = settings.policy.feedback
        if policy.lists.matches(.whitelist, url) {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "URL \(url) suspected (\(why)) but whitelisted: "
                        + "not blacklisted; \(outcome)", cause: cause))
            return
        }
        guard feedback.blacklistSuspects else {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "URL \(url) suspected (\(why)); \(outcome); "
                        + "not blacklisted (feedback.blacklist_suspects is off)",
                    cause: cause))
            return
        }
        let ttl = feedback.suspectTTL.milliseconds
        // Under a sustained attack every arbitration suspects the URL again; refresh the entry
        // only when less than half its TTL is left, so the lists channel is not flooded.
        if let expiry = policy.lists.entries[.blacklist]?[url], expiry.map({ $0 - now > ttl / 2 }) ?? true {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "URL \(url) suspected again (\(why)); already "
                        + "blacklisted; \(outcome)", cause: cause))
            return
        }
        if let update = policy.lists.apply(
            .blacklist, .add, url: url, expiresAt: now.saturatingAdding(ttl),
            reason: "suspected: \(why)", cause: cause)
        {
            decision.listChanges.append(update)
        }
        decision.notes.append(
            .init(
                executor: nil,
                reason: "URL \(url) suspected (\(why)); blacklisted for "
                    + "\(DurationText.format(feedback.suspectTTL)); \(outcome)",
                cause: cause))
    }

    /// Variant trust falls by 10% on a dissent (floor 0.1) and recovers 1% of the gap on agreement:
    /// slower than executor confidence, because it sums the behaviour of every executor of the build.
    mutating func adjustVariantTrust(_ variant: String, dissented: Bool) {
        let trust = policy.variantTrust[variant] ?? 1
        if dissented {
            policy.variantTrust[variant] = max(0.1, trust * Self.variantDissentFactor)
        } else if trust < 1 {
            policy.variantTrust[variant] = min(1, trust + (1 - trust) * 0.01)
        }
    }

    /// Drops URL dissents that left the window, so URLs seen once do not accumulate.
    mutating func pruneURLDissents(now: Int64) {
        let window = settings.abnormalWindowMs
        policy.urlDissents = policy.urlDissents.compactMapValues { dissents in
            let recent = dissents.filter { now - $0.time < window }
            return recent.isEmpty ? nil : recent
        }
    }
}
