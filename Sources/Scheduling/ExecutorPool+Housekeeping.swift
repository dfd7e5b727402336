import Shared

/// Housekeeping, on its own clock: dirty executors past `dirty_ttl` go to cleaning, expired
/// list entries are removed, URL dissents that left the window are dropped, and with
/// `rotate_per_executor` online executors whose own time is up are rotated.
extension ExecutorPool {
    mutating func housekeeping(now: Int64, into decision: inout Decision) {
        releaseExpiredDirty(now: now, into: &decision)
        expireListEntries(now: now, into: &decision)
        pruneURLDissents(now: now)
        rotateExpiredExecutors(now: now, into: &decision)
    }

    /// Dirty executors kept longer than `dirty_ttl` go to cleaning. Paused scheduling keeps them:
    /// an operator who paused is likely looking at them.
    mutating func releaseExpiredDirty(now: Int64, into decision: inout Decision) {
        let ttl = settings.policy.dirtyTTLMs
        guard ttl > 0, !meta.paused else { return }
        let due = executors.values.filter { $0.state == .dirty && now - $0.since >= ttl }
            .sorted { ($0.since, $0.id) < ($1.since, $1.id) }
        for executor in due {
            move(
                executor.id, to: .cleaning,
                reason: "released from dirty: dirty_ttl=\(DurationText.format(.milliseconds(ttl))) elapsed",
                cause: .timer, now: now, into: &decision)
        }
    }

    mutating func expireListEntries(now: Int64, into decision: inout Decision) {
        for entry in policy.lists.expired(now: now) {
            if let update = policy.lists.apply(
                entry.list, .remove, url: entry.url, expiresAt: nil, reason: "expired",
                cause: .timer)
            {
                decision.listChanges.append(update)
            }
        }
    }
}
