import Shared

/// Rotation (DESIGN section 7): the fleet changes even when nothing looks wrong, so an attacker's
/// foothold does not last. The rotation clock (`rotate_every` with jitter) and an operator's
/// `rotate` both take the longest-online executor out for cleaning, and only when a standby can
/// take its place.
extension ExecutorPool {
    /// The rotation candidate: online longest, the id breaking ties.
    var longestOnline: Executor? {
        executors.values.filter { $0.state == .online }.min { ($0.since, $0.id) < ($1.since, $1.id) }
    }

    mutating func timedRotation(now: Int64, into decision: inout Decision) {
        guard !meta.paused else {
            decision.notes.append(
                .init(
                    executor: nil, reason: "timed rotation skipped: scheduling is paused",
                    cause: .timer))
            return
        }
        let every = settings.policy.rotateEveryMs
        // The shortest period the clock can draw is every × (1 - jitter); ticks closer than half
        // of that to the last rotation were queued, not timed.
        let shortest = Int64(Double(every) * (1 - settings.policy.rotateJitter) / 2)
        if let last = policy.lastTimedRotation, now - last < shortest {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "timed rotation skipped: the last one was "
                        + "\(now - last) ms ago (ticks queued while the loop was blocked)",
                    cause: .timer))
            return
        }
        policy.lastTimedRotation = now
        rotate(
            reason: "timed rotation (rotate_every=\(DurationText.format(.milliseconds(every))) with jitter)",
            cause: .timer, now: now, into: &decision)
    }

    /// Takes the longest-online executor out for cleaning, if a standby can take its place.
    mutating func rotate(reason: String, cause: Cause, now: Int64, into decision: inout Decision) {
        guard let oldest = longestOnline else {
            decision.notes.append(.init(executor: nil, reason: "rotation skipped: nothing online", cause: cause))
            return
        }
        guard count(.standby) > 0 else {
            decision.notes.append(
                .init(
                    executor: oldest.id, reason: "rotation skipped: no standby ready",
                    cause: cause))
            return
        }
        move(oldest.id, to: .cleaning, reason: reason, cause: cause, now: now, into: &decision)
    }
}
