import Shared

/// The rules driven by the clock rather than by messages: timed rotation (the fleet changes even
/// when nothing looks wrong, so an attacker's foothold does not last) and housekeeping (dirty
/// executors past `dirty_ttl`, expired list entries).
extension ExecutorPool {
    mutating func timedRotation(now: Int64, into decision: inout Decision) {
        guard !meta.paused else {
            decision.notes.append(.init(executor: nil, reason: "timed rotation skipped: scheduling is paused",
                                        cause: .timer))
            return
        }
        let every = settings.policy.rotateEveryMs
        // The shortest period the clock can draw is every × (1 - jitter); ticks closer than half
        // of that to the last rotation were queued, not timed.
        let shortest = Int64(Double(every) * (1 - settings.policy.rotateJitter) / 2)
        if let last = policy.lastTimedRotation, now - last < shortest {
            decision.notes.append(.init(executor: nil, reason: "timed rotation skipped: the last one was "
                                            + "\(now - last) ms ago (ticks queued while the loop was blocked)",
                                        cause: .timer))
            return
        }
        policy.lastTimedRotation = now
        rotate(reason: "timed rotation (rotate_every=\(DurationText.format(.milliseconds(every))) with jitter)",
               cause: .timer, now: now, into: &decision)
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
                 cause: .timer, now: now, into: &decision)
        }
    }

    mutating func expireListEntries(now: Int64, into decision: inout Decision) {
        for entry in policy.lists.expired(now: now) {
            if let update = policy.lists.apply(entry.list, .remove, url: entry.url, expiresAt: nil, reason: "expired",
                                               cause: .timer) {
                decision.listChanges.append(update)
            }
        }
    }
}
