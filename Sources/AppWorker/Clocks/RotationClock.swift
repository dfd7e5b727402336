import Scheduling
import Shared

/// Timed scheduling: posts `.rotationDue` into the inbox every `rotate_every`, each period drawn
/// uniformly from `rotate_every × (1 ± rotate_jitter)` so the rhythm of the fleet cannot be
/// learned. The pool decides what a tick means (nothing while paused).
struct RotationClock: Sendable {
    let every: Duration
    let jitter: Double
    let seed: UInt64?
    /// With `rotate_per_executor` the housekeeping tick rotates each executor at its own time.
    let perExecutor: Bool

    init(scheduling: Scheduling) {
        every = scheduling.rotateEvery
        jitter = scheduling.rotateJitter
        perExecutor = scheduling.rotatePerExecutor
        // A stream of its own, so with a fixed seed the periods do not shift the pool's choices.
        seed = scheduling.seed.map { $0 ^ 0x7267_6174_696F_6E00 }
    }

    static func period(every: Duration, jitter: Double, random: inout SchedulerRandom) -> Duration {
        let factor = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter), using: &random) : 1
        return .milliseconds(max(1, Int64((Double(every.milliseconds) * factor).rounded())))
    }

    /// Runs until cancelled; returns at once when rotation is off (`rotate_every: 0`) or drawn
    /// per executor.
    func run(posting inbox: WorkerInbox) async {
        guard every > .zero, !perExecutor else { return }
        var random = SchedulerRandom(seed: seed)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: Self.period(every: every, jitter: jitter, random: &random))
            } catch {
                return
            }
            inbox.post(.schedulerEvent(.rotationDue))
        }
    }
}
