import Shared

/// The policy memory as it bears on one executor, for `mimicctl why` (issue 18 item 5): read from
/// the committed memory (`mimic:{app}:policy`), so the answer is what the next decision will count.
extension PolicyMemory {
    /// `suspected` are the URL suspicions the caller found in the events stream; learned trust is
    /// computed as publication computes it (as of the last learned arbitration), so it matches the
    /// weight the brackets were given.
    package func why(
        of executor: Executor, settings: ExecutorPool.Settings, suspected: [ExecutorWhy.SuspectedURL]
    ) -> ExecutorWhy.Policy {
        let id = executor.id
        let learning = settings.policy.learning
        let halfLife = learning.halfLife.milliseconds
        var patterns: [ExecutorWhy.PatternTrust] = []
        var learnedTrust: Double?
        if learning.enabled {
            var lowest = 1.0
            if let learned = policy.learned {
                let latest = learned.patterns.values.map(\.seen).max() ?? 0
                for key in learned.patterns.keys.sorted() {
                    guard let evidence = learned.evidence(executor.variant, on: key, now: latest, halfLifeMs: halfLife)
                    else { continue }
                    patterns.append(
                        .init(
                            pattern: key, trust: evidence.trust, agreements: evidence.agreements,
                            dissents: evidence.dissents))
                    if evidence.trust < ExecutorPool.distrustedTrust,
                        evidence.dissents > ExecutorPool.distrustedDissents
                    {
                        lowest = min(lowest, evidence.trust)
                    }
                }
            }
            learnedTrust = lowest
        }
        patterns.sort { ($0.trust, $0.pattern) < ($1.trust, $1.pattern) }
        let urlDissents = policy.urlDissents.flatMap { url, dissents in
            dissents.filter { $0.executor == id }.map { ExecutorWhy.URLDissent(url: url, time: $0.time) }
        }
        .sorted { ($0.time, $0.url) < ($1.time, $1.url) }
        return ExecutorWhy.Policy(
            windowMs: settings.abnormalWindowMs, dissents: policy.dissentTimes[id] ?? [],
            dissentThreshold: settings.abnormalDissents, degraded: policy.degradedTimes[id] ?? [],
            degradedThreshold: settings.policy.degradedThreshold, lowAlerts: policy.lowAlertTimes[id] ?? [],
            lowAlertThreshold: settings.policy.lowSeverityThreshold, confidence: executor.confidence,
            variant: executor.variant, variantTrust: policy.variantTrust[executor.variant] ?? 1,
            learnedTrust: learnedTrust, patterns: patterns, urlDissents: urlDissents, suspectedURLs: suspected)
    }
}

extension ExecutorPool.Settings {
    /// `scheduling.abnormal.window` in ms: how far back the policy memory counts.
    package var windowMs: Int64 { abnormalWindowMs }
}
