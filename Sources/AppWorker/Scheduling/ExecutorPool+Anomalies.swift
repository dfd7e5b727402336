import Shared

/// Signals that make an executor abnormal only when they repeat inside `abnormal.window`:
/// `degraded` health reports and medium/low WAF or firewall alerts. One of them alone is noise;
/// many are an executor going bad.
extension ExecutorPool {
    mutating func degraded(_ id: String, cause: Cause, now: Int64, into decision: inout Decision) {
        let threshold = settings.policy.degradedThreshold
        let window = settings.abnormalWindowMs
        let count = PolicyState.count(&policy.degradedTimes, id, now: now, window: window)
        guard threshold > 0, count >= threshold else {
            decision.notes.append(.init(executor: id, reason: threshold > 0
                                            ? "degraded report \(count) of \(threshold) within \(window) ms"
                                            : "degraded report recorded (abnormal.degraded is 0)", cause: cause))
            return
        }
        policy.degradedTimes[id] = nil
        abnormal(id, reason: "\(count) degraded reports within \(window) ms", cause: cause, now: now, into: &decision)
    }

    mutating func lowSeverityAlert(_ id: String, alert: Alert, cause: Cause, now: Int64,
                                   into decision: inout Decision) {
        let threshold = settings.policy.lowSeverityThreshold
        let window = settings.abnormalWindowMs
        let count = PolicyState.count(&policy.lowAlertTimes, id, now: now, window: window)
        let what = "\(alert.severity.rawValue) alert\(alert.rule.map { " rule \($0)" } ?? "")"
            + "\(alert.kind.map { " \($0)" } ?? "")"
        guard threshold > 0, count >= threshold else {
            decision.notes.append(.init(executor: id, reason: threshold > 0
                                            ? "\(what) recorded (\(count) of \(threshold) within \(window) ms)"
                                            : "\(what) recorded (abnormal.low_severity is 0)", cause: cause))
            return
        }
        policy.lowAlertTimes[id] = nil
        abnormal(id, reason: "\(count) medium/low alerts within \(window) ms, last: \(what)", cause: cause, now: now,
                 into: &decision)
    }
}
