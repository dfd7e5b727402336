/// Delays between reconnect attempts: exponential growth up to a cap, with jitter so that many
/// workers recovering from the same Redis outage do not reconnect in lockstep.
public struct RedisBackoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    public let multiplier: Double
    /// Fraction of each delay that is randomised away: a delay lies in `[base * (1 - jitter), base]`,
    /// so the cap is never exceeded.
    public let jitter: Double
    /// Failures since the last success.
    public private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2),
                multiplier: Double = 2, jitter: Double = 0.2) {
        precondition(initial > .zero && maximum >= initial && multiplier >= 1 && (0...1).contains(jitter),
                     "RedisBackoff needs 0 < initial <= maximum, multiplier >= 1, jitter in 0...1")
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The un-jittered delay for a given attempt (0-based).
    public func baseDelay(attempt: Int) -> Duration {
        var delay = initial
        for _ in 0..<max(attempt, 0) {
            delay = delay * multiplier
            // Stop early: during a long outage `attempt` keeps counting.
            if delay >= maximum { return maximum }
        }
        return delay
    }

    /// The delay to wait after one more failure.
    public mutating func next<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Duration {
        let base = baseDelay(attempt: attempt)
        attempt += 1
        guard jitter > 0 else { return base }
        let factor = 1 - jitter * Double.random(in: 0..<1, using: &generator)
        return base * factor
    }

    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// Call after a success, so the next outage starts again from `initial`.
    public mutating func reset() {
        attempt = 0
    }
}
