import Shared

/// The rules driven by the clock rather than by messages: timed rotation (the fleet changes even
/// when nothing looks wrong, so an attacker's foothold does not last) and housekeeping (dirty
/// executors past `dirty_ttl`, expired list entries).
extension ExecutorPool {
    mutating func timedRotation(now: Int64, into decision: inout Decision) {
        guard !meta.paused else {
            decision.notes.append(.init(executor: nil, reason: "timed rotation skipped: scheduling is paused",
                                        cause: "timer"))
            return
        }
        let period = DurationText.format(.milliseconds(settings.policy.rotateEveryMs))
        rotate(reason: "timed rotation (rotate_every=\(period) with jitter)", cause: "timer", now: now,
               into: &decision)
    }

    mutating func housekeeping(now: Int64, into decision: inout Decision) {
        releaseExpiredDirty(now: now, into: &decision)
        expireListEntries(now: now, into: &decision)
        pruneURLDissents(now: now)
    }

    /// Dirty executors kept longer than `dirty_ttl` go to cleaning. Paused scheduling keeps them:
    /// an operator who paused is likely looking at them.
    mutating func releaseExpiredDirty(now: Int64, into decision: inout Decision) {
        let ttl = settings.policy.dirtyTTLMs
        guard ttl > 0, !meta.paused else { return }
        let due = executors.values.filter { $0.state == .dirty && now - $0.since >= ttl }
            .sorted { ($0.since, $0.id) < ($1.since, $1.id) }
        for executor in due {
            move(executor.id, to: .cleaning,
                 reason: "released from dirty: dirty_ttl=\(DurationText.format(.milliseconds(ttl))) elapsed",
                 cause: "timer", now: now, into: &decision)
        }
    }

    mutating func expireListEntries(now: Int64, into decision: inout Decision) {
        for entry in policy.lists.expired(now: now) {
            if let update = policy.lists.apply(entry.list, .remove, url: entry.url, expiresAt: nil, reason: "expired",
                                               cause: "timer") {
                decision.listChanges.append(update)
            }
        }
    }
}
