import Shared

/// Frames that change nothing anyone waits on wait in the inbox for company, up to `window` and
/// while fewer than `maxHeldFrames` wait, so one decision pass, one commit (one guarded Redis
/// script) and one ack cover several of them.
///
/// At a paced rate each frame used to arrive alone and be its own commit: the loop's wakeup, the
/// hop to the Redis owner thread and back, the script, and the ack each cost more than the rules
/// (issue 15). Quiet means an arbitration the executors agreed on, or an executor reported up:
/// the rules only move confidences, counters and learned patterns for them (`up` changes no
/// executor's state), so nothing the brackets are told waits on them. Anything else (a dissent,
/// an alert, a health report that is not `up`, a list change, an admin order, an invalid frame,
/// a gap, a hello, a clock's event, frames of another connection) ends the hold at once and goes
/// in the same batch, so a flagged executor waits for nothing but the frames before it. The
/// listener's answers do not wait either: they follow the journal, not the commit.
enum FrameHold {
    /// Short beside anything an operator reads off a consistent arbitration (confidences,
    /// counters), and as long as the ack pacing's interval, which the acks wait for anyway.
    static let window: Duration = .milliseconds(5)
    /// A hold ends once this many frames wait. A loud frame that ends a hold waits for the held
    /// frames' decision and commit: held for the whole window at 5,000 msgs/s per app (about 25
    /// frames), a trigger's median from journal to publish grew 0.2–0.6 ms; with 8 it stayed
    /// where it was, and a commit still takes up to 8 frames instead of one (BENCHMARKS.md,
    /// issue 15's sixth pass).
    static let maxHeldFrames = 8

    static func isQuiet(_ frames: [InboundFrame]) -> Bool {
        frames.allSatisfy { frame in
            guard case .valid(_, let body) = frame.message else { return false }
            switch body {
            case .arbitration(let arbitration): return arbitration.dissenters.isEmpty
            case .health(let report): return report.status == .up
            case .alert, .list, .setState, .rotate, .pause, .resume: return false
            }
        }
    }
}
