import Shared

/// Anomalies (DESIGN section 7, "Abnormal"): an executor reported down by the left bracket or
/// named in a high or critical alert is replaced at once; `degraded` health reports and
/// medium/low WAF or firewall alerts only when they repeat inside `abnormal.window` (one of them
/// alone is noise, many are an executor going bad). Replacing never takes online below
/// `min_online`; an abnormal online executor goes to dirty (forensics) or straight to cleaning.
extension ExecutorPool {
    /// A left-bracket health report: down is abnormal at once, degraded only when it repeats.
    mutating func health(_ report: HealthReport, cause: Cause, now: Int64, into decision: inout Decision) {
        guard let executor = executors[report.executor] else {
            decision.notes.append(
                .init(
                    executor: report.executor,
                    reason: "health report for unknown executor", cause: cause))
            return
        }
        switch report.status {
        case .down:
            abnormal(
                executor.id, reason: "reported down by the left bracket", cause: cause, now: now,
                into: &decision)
        case .degraded:
            degraded(executor.id, cause: cause, now: now, into: &decision)
        case .up:
            break
        }
    }

    /// A WAF or firewall alert: high and critical are abnormal at once, the rest only when they repeat.
    mutating func alert(_ alert: Alert, cause: Cause, now: Int64, into decision: inout Decision) {
        let targets: [String]
        switch alertTarget(alert) {
        case .executor(let id):
            targets = [id]
        case .none:
            decision.notes.append(
                .init(
                    executor: alert.executor,
                    reason: "alert names no known executor (\(alert.address ?? "-"))",
                    cause: cause))
            return
        case .ambiguous(let candidates):
            // One alert must never empty a host: which executor the WAF saw is not known.
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "alert on address \(alert.address ?? "-") is ambiguous: executors "
                        + "\(candidates.joined(separator: ", ")) have it; nobody ejected (report ip:port or the executor id)",
                    cause: cause))
            return
        }
        for id in targets {
            if alert.severity >= .high {
                abnormal(
                    id, reason: "\(alert.severity.rawValue) alert\(alert.rule.map { " rule \($0)" } ?? "")",
                    cause: cause, now: now, into: &decision)
            } else {
                lowSeverityAlert(id, alert: alert, cause: cause, now: now, into: &decision)
            }
        }
    }

    mutating func degraded(_ id: String, cause: Cause, now: Int64, into decision: inout Decision) {
        let threshold = settings.policy.degradedThreshold
        let window = settings.abnormalWindowMs
        let count = PolicyState.count(&policy.degradedTimes, id, now: now, window: window)
        guard threshold > 0, count >= threshold else {
            decision.notes.append(
                .init(
                    executor: id,
                    reason: threshold > 0
                        ? "degraded report \(count) of \(threshold) within \(window) ms"
                        : "degraded report recorded (abnormal.degraded is 0)", cause: cause))
            return
        }
        policy.degradedTimes[id] = nil
        abnormal(id, reason: "\(count) degraded reports within \(window) ms", cause: cause, now: now, into: &decision)
    }

    mutating func lowSeverityAlert(
        _ id: String, alert: Alert, cause: Cause, now: Int64,
        into decision: inout Decision
    ) {
        let threshold = settings.policy.lowSeverityThreshold
        let window = settings.abnormalWindowMs
        let count = PolicyState.count(&policy.lowAlertTimes, id, now: now, window: window)
        let what =
            "\(alert.severity.rawValue) alert\(alert.rule.map { " rule \($0)" } ?? "")"
            + "\(alert.kind.map { " \($0)" } ?? "")"
        guard threshold > 0, count >= threshold else {
            decision.notes.append(
                .init(
                    executor: id,
                    reason: threshold > 0
                        ? "\(what) recorded (\(count) of \(threshold) within \(window) ms)"
                        : "\(what) recorded (abnormal.low_severity is 0)", cause: cause))
            return
        }
        policy.lowAlertTimes[id] = nil
        abnormal(
            id, reason: "\(count) medium/low alerts within \(window) ms, last: \(what)", cause: cause, now: now,
            into: &decision)
    }

    enum AlertTarget: Equatable {
        case executor(String)
        case none
        case ambiguous([String])
    }

    /// By id; by `ip:port`, the online or standby executor with that endpoint; by a bare IP, the
    /// online or standby executor on it if it is the only one.
    func alertTarget(_ alert: Alert) -> AlertTarget {
        if let id = alert.executor { return executors[id] == nil ? .none : .executor(id) }
        guard let text = alert.address else { return .none }
        let address = AlertAddress(text)
        let candidates = executors.values
            .filter { ($0.state == .online || $0.state == .standby) && address.names(endpoint: $0.endpoint) }
            .map(\.id).sorted()
        switch candidates.count {
        case 0: return .none
        case 1: return .executor(candidates[0])
        default: return .ambiguous(candidates)
        }
    }

    /// Replaces an abnormal executor at once, unless that would take online below `min_online`
    /// with no standby to step in: then it stays, flagged, and `replenish` replaces it later.
    mutating func abnormal(
        _ id: String, reason: String, cause: Cause, now: Int64,
        into decision: inout Decision
    ) {
        guard var executor = executors[id] else { return }
        switch executor.state {
        case .online:
            break
        case .standby, .initializing:
            move(id, to: .cleaning, reason: "abnormal: \(reason)", cause: cause, now: now, into: &decision)
            return
        case .dirty, .cleaning, .offline:
            decision.notes.append(
                .init(
                    executor: id, reason: "abnormal while \(executor.state.rawValue): \(reason)",
                    cause: cause))
            return
        }
        if meta.paused || (count(.standby) == 0 && count(.online) - 1 < settings.replicas.minOnline) {
            executor.flagged = true
            executor.reason = "abnormal: \(reason)"
            executors[id] = executor
            decision.touched.insert(id)
            let why =
                meta.paused
                ? "scheduling is paused"
                : "replacing it would drop online below min_online=\(settings.replicas.minOnline)"
            decision.notes.append(
                .init(
                    executor: id,
                    reason: "abnormal (\(reason)) but kept online: \(why); "
                        + "it is replaced as soon as a standby exists", cause: cause))
            return
        }
        quarantine(id, reason: "abnormal: \(reason)", cause: cause, now: now, into: &decision)
    }

    /// Online to dirty (kept for forensics, oldest released past `retain_dirty`) or to cleaning.
    mutating func quarantine(
        _ id: String, reason: String, cause: Cause, now: Int64,
        into decision: inout Decision
    ) {
        guard settings.replicas.retainDirty > 0 else {
            move(id, to: .cleaning, reason: reason, cause: cause, now: now, into: &decision)
            return
        }
        move(id, to: .dirty, reason: reason, cause: cause, now: now, into: &decision)
        let dirty = executors.values.filter { $0.state == .dirty }.sorted { ($0.since, $0.id) < ($1.since, $1.id) }
        for released in dirty.prefix(max(0, dirty.count - settings.replicas.retainDirty)) {
            move(
                released.id, to: .cleaning,
                reason: "released from dirty: more than retain_dirty=\(settings.replicas.retainDirty) kept",
                cause: cause, now: now, into: &decision)
        }
    }
}
