/// Delays between retries: exponential growth up to a cap, with jitter so that many clients
/// recovering from the same outage (workers reconnecting to Redis, a listener redialling its
/// workers, webhooks to a bracket that came back) do not retry in lockstep.
public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    public let multiplier: Double
    /// Fraction of each delay that is randomised away: a delay lies in `[base * (1 - jitter), base]`,
    /// so the cap is never exceeded.
    public let jitter: Double
    /// Failures since the last success.
    public private(set) var attempt = 0

    public init(initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double) {
        precondition(
            initial > .zero && maximum >= initial && multiplier >= 1 && (0...1).contains(jitter),
            "Backoff needs 0 < initial <= maximum, multiplier >= 1, jitter in 0...1")
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// A worker's Redis reconnects: 50 ms doubling to 2 s, each delay up to a fifth shorter.
    public static var redisReconnect: Backoff { Backoff(initial: .milliseconds(50), maximum: .seconds(2), jitter: 0.2) }

    /// POSTs of the online set to a bracket's webhook: 200 ms doubling to 10 s.
    public static var webhook: Backoff { Backoff(initial: .milliseconds(200), maximum: .seconds(10), jitter: 0.2) }

    /// The listener redialling an app's worker socket: 50 ms doubling to 2 s, anywhere in the upper half.
    public static var workerLink: Backoff { Backoff(initial: .milliseconds(50), maximum: .seconds(2), jitter: 0.5) }

    /// The listener restarting a worker that exited: 200 ms doubling to 30 s, anywhere in the upper half.
    public static var workerRestart: Backoff {
        Backoff(initial: .milliseconds(200), maximum: .seconds(30), jitter: 0.5)
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

    /// The delay to wait after one more failure. `draw` in 0..<1 picks the point in the jitter
    /// range (0: the full base delay); `next(using:)` draws it at random, tests pass it.
    public mutating func next(draw: Double) -> Duration {
        let base = baseDelay(attempt: attempt)
        attempt += 1
        guard jitter > 0 else { return base }
        return base * (1 - jitter * min(max(draw, 0), 1))
    }

    public mutating func next<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Duration {
        next(draw: Double.random(in: 0..<1, using: &generator))
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
