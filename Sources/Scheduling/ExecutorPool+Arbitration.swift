import Shared

/// Arbitration results from the right bracket (DESIGN section 7): per-executor confidence and
/// dissent counting (enough dissents inside the window are an anomaly), per-variant trust, and
/// the arbitration-log negative feedback: when the evidence points at a request rather than at
/// the executors, the URL is suspected and published to the left bracket's blacklist instead of
/// ejecting healthy executors. This is the guard against an attacker who finds a URL that makes
/// every backend look broken and would otherwise empty the online set.
extension ExecutorPool {
    /// Confidence and variant trust are multiplied by these on each dissent; forgiving a dissent
    /// divides by them again.
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
        // Negative feedback: a URL already suspected, or one that now makes several variants
        // dissent, says nothing about the executors.
        guard !feedbackAbsorbs(arbitration, dissenters: dissenters, cause: cause, now: now, into: &decision) else {
            return
        }
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
    }

    /// True when the arbitration's dissents are absorbed by the feedback rule: its URL is already
    /// blacklisted, or with this arbitration executors of `feedback.variants` different variants
    /// have dissented on it inside the abnormal window. The earlier dissents on that URL are then
    /// forgiven, so nobody is ejected for them.
    mutating func feedbackAbsorbs(
        _ arbitration: Arbitration, dissenters: Set<String>, cause: Cause, now: Int64,
        into decision: inout Decision
    ) -> Bool {
        guard let url = arbitration.url, !url.isEmpty, !dissenters.isEmpty else { return false }
        if policy.lists.matches(.blacklist, url) {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "dissent on blacklisted URL \(url) not counted "
                        + "against \(dissenters.sorted().joined(separator: ", "))", cause: cause))
            return true
        }
        let window = settings.abnormalWindowMs
        let earlier = policy.urlDissents[url, default: []].filter { now - $0.time < window }
        var recent = earlier
        for id in dissenters.sorted() {
            guard let executor = executors[id] else { continue }
            recent.append(.init(time: now, executor: id, variant: executor.variant))
        }
        let variants = Set(recent.map(\.variant)).sorted()
        guard variants.count >= settings.policy.feedback.variants else {
            policy.urlDissents[url] = recent
            return false
        }
        policy.urlDissents[url] = nil
        // This arbitration's own dissents were never counted; the earlier ones were.
        for dissent in earlier {
            forgive(dissent, into: &decision)
        }
        suspect(
            url: url,
            why: "executors of \(variants.count) variants (\(variants.joined(separator: ", "))) "
                + "dissented on it within \(window) ms", cause: cause, now: now, into: &decision)
        return true
    }

    /// Publishes a suspected URL to the blacklist for `feedback.suspect_ttl` (unless the feature
    /// is off or the URL is whitelisted) and records why; the executors are not penalised.
    mutating func suspect(url: String?, why: String, cause: Cause, now: Int64, into decision: inout Decision) {
        guard let url, !url.isEmpty else {
            decision.notes.append(
                .init(
                    executor: nil, reason: "request suspected: \(why); executors not penalised",
                    cause: cause))
            return
        }
        let feedback = settings.policy.feedback
        if policy.lists.matches(.whitelist, url) {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "URL \(url) suspected (\(why)) but whitelisted: "
                        + "not blacklisted; executors not penalised", cause: cause))
            return
        }
        guard feedback.blacklistSuspects else {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "URL \(url) suspected (\(why)); executors not "
                        + "penalised; not blacklisted (feedback.blacklist_suspects is off)",
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
                        + "blacklisted; executors not penalised", cause: cause))
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
                    + "\(DurationText.format(feedback.suspectTTL)); executors not penalised",
                cause: cause))
    }

    /// Takes back one dissent recorded against an executor for a URL found suspect later.
    mutating func forgive(_ dissent: PolicyState.URLDissent, into decision: inout Decision) {
        if var times = policy.dissentTimes[dissent.executor], let index = times.firstIndex(of: dissent.time) {
            times.remove(at: index)
            policy.dissentTimes[dissent.executor] = times
            if var executor = executors[dissent.executor] {
                executor.dissents = times.count
                executor.confidence = min(1, executor.confidence / Self.dissentFactor)
                executors[dissent.executor] = executor
                decision.touched.insert(dissent.executor)
            }
        }
        if let trust = policy.variantTrust[dissent.variant] {
            policy.variantTrust[dissent.variant] = min(1, trust / Self.variantDissentFactor)
        }
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
