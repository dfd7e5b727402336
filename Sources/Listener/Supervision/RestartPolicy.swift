import Shared

/// When to start a worker again after it exited: exponential backoff with jitter, forgiven after a
/// stable run, and a crash loop once it keeps failing.
struct RestartPolicy: Sendable, Equatable {
    var backoff = Backoff.workerRestart
    /// A worker that ran this long before exiting starts the count afresh.
    var stableAfter: Duration = .seconds(60)
    /// This many quick failures in a row is reported as a crash loop.
    var crashLoopAfter = 5
    private(set) var quickFailures = 0

    /// The worker exited after running `uptime`; returns how long to wait before starting it again.
    /// `draw`: see `Backoff.next(draw:)`.
    mutating func exited(uptime: Duration, draw: Double) -> Duration {
        if uptime >= stableAfter {
            quickFailures = 0
            backoff.reset()
        }
        quickFailures += 1
        return backoff.next(draw: draw)
    }

    /// Crash loop: failing quickly again and again, and the current run (if any) is not yet stable.
    func isCrashLooping(currentUptime: Duration?) -> Bool {
        guard quickFailures >= crashLoopAfter else { return false }
        if let currentUptime, currentUptime >= stableAfter { return false }
        return true
    }

    /// An operator start/restart: begin afresh.
    mutating func reset() {
        quickFailures = 0
        backoff.reset()
    }
}
