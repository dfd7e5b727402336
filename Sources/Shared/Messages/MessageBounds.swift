/// The limits on every number, duration and list a message carries (DESIGN section 10, "no poison
/// message"). Checked at validation, by the listener before it answers and by the worker again
/// for what an older journal holds, so no value from outside can reach the rules' arithmetic
/// unbounded (`now + ttl` once trapped the worker on every restart).
public enum MessageBounds {
    /// `body.ttl` of a list entry: at most a year; `0` means permanent.
    public static let maxListTTL: Duration = .seconds(365 * 86_400)
    /// `body.latency_ms` of a health report: finite, 0 to one day.
    public static let maxLatencyMs: Double = 86_400_000
    /// `body.executors` (and so `body.dissenters`) of an arbitration: a right bracket compares the
    /// answers of the online executors, far fewer than this.
    public static let maxArbitrationExecutors = 64
}
