/// Exponential backoff with jitter: attempt n waits between half and all of `base * 2^(n-1)`, capped.
struct Backoff: Sendable, Equatable {
    var base: Duration
    var cap: Duration
    private(set) var attempt = 0

    init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = cap
    }

    /// The delay before the next attempt; `jitter` in 0...1 (random in production, fixed in tests).
    mutating func next(jitter: Double) -> Duration {
        attempt += 1
        let exponent = min(attempt - 1, 30)
        var delay = base * (1 << exponent)
        if delay > cap { delay = cap }
        return delay * (0.5 + 0.5 * min(max(jitter, 0), 1))
    }

    mutating func reset() { attempt = 0 }
}
