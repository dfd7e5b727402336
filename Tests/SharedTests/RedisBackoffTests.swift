import Shared
import Testing

@Suite("Redis reconnect backoff")
struct RedisBackoffTests {
    @Test func doublesFromFiftyMillisecondsUpToTheCap() {
        var backoff = RedisBackoff(jitter: 0)
        let delays = (0..<9).map { _ in backoff.next() }
        #expect(delays == [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000].map { Duration.milliseconds($0) })
        #expect(backoff.attempt == 9)
    }

    @Test func resetStartsOverAfterASuccess() {
        var backoff = RedisBackoff(jitter: 0)
        for _ in 0..<5 { _ = backoff.next() }
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.next() == .milliseconds(50))
    }

    @Test func jitterStaysBelowTheBaseAndNeverAboveTheCap() {
        var backoff = RedisBackoff(jitter: 0.5)
        var generator = SplitMix64(state: 42)
        var delays: [Duration] = []
        for attempt in 0..<40 {
            let delay = backoff.next(using: &generator)
            let base = backoff.baseDelay(attempt: attempt)
            #expect(delay <= base)
            #expect(delay >= base * 0.5)
            #expect(delay <= .seconds(2))
            delays.append(delay)
        }
        #expect(Set(delays.suffix(20)).count > 1, "capped delays are still spread out")

        var again = RedisBackoff(jitter: 0.5)
        var sameSeed = SplitMix64(state: 42)
        #expect((0..<40).map { _ in again.next(using: &sameSeed) } == delays)
    }

    @Test func longOutagesStayAtTheCap() {
        let backoff = RedisBackoff()
        #expect(backoff.baseDelay(attempt: 10_000) == .seconds(2))
        #expect(backoff.baseDelay(attempt: 0) == .milliseconds(50))
    }
}
