import Shared
import Testing

@Suite("Retry backoff")
struct BackoffTests {
    @Test func redisReconnectsDoubleFromFiftyMillisecondsUpToTheCap() {
        var backoff = Backoff.redisReconnect
        let delays = (0..<9).map { _ in backoff.next(draw: 0) }
        #expect(delays == [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000].map { Duration.milliseconds($0) })
        #expect(backoff.attempt == 9)
    }

    @Test func eachCallerKeepsItsBaseAndCap() {
        let callers: [(Backoff, Duration, Duration, Double)] = [
            (.redisReconnect, .milliseconds(50), .seconds(2), 0.2),
            (.webhook, .milliseconds(200), .seconds(10), 0.2),
            (.workerLink, .milliseconds(50), .seconds(2), 0.5),
            (.workerRestart, .milliseconds(200), .seconds(30), 0.5),
        ]
        for (backoff, initial, maximum, jitter) in callers {
            #expect(backoff.baseDelay(attempt: 0) == initial)
            #expect(backoff.baseDelay(attempt: 64) == maximum)
            #expect(backoff.jitter == jitter)
        }
    }

    @Test func resetStartsOverAfterASuccess() {
        var backoff = Backoff.webhook
        for _ in 0..<5 { _ = backoff.next() }
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.next(draw: 0) == .milliseconds(200))
    }

    @Test func drawPicksThePointInTheJitterRange() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0.5)
        for _ in 0..<3 { _ = backoff.next(draw: 0.5) }
        #expect(backoff.next(draw: 0) == .milliseconds(800))
        #expect(backoff.next(draw: 1) == .milliseconds(500), "capped at 1 s, then half of it at most")
        #expect(backoff.next(draw: 7) == .milliseconds(500), "draws outside 0...1 are clamped")
    }

    @Test(arguments: [0.2, 0.5])
    func jitterStaysWithinTheRangeAndNeverAboveTheCap(jitter: Double) {
        var backoff = Backoff(initial: .milliseconds(50), maximum: .seconds(2), jitter: jitter)
        var generator = SplitMix64(state: 42)
        var delays: [Duration] = []
        for attempt in 0..<40 {
            let delay = backoff.next(using: &generator)
            let base = backoff.baseDelay(attempt: attempt)
            #expect(delay <= base)
            #expect(delay >= base * (1 - jitter))
            #expect(delay <= .seconds(2))
            delays.append(delay)
        }
        #expect(Set(delays.suffix(20)).count > 1, "capped delays are still spread out")

        var again = Backoff(initial: .milliseconds(50), maximum: .seconds(2), jitter: jitter)
        var sameSeed = SplitMix64(state: 42)
        #expect((0..<40).map { _ in again.next(using: &sameSeed) } == delays)
    }

    @Test func withoutJitterTheDelayIsTheBase() {
        var backoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(35), jitter: 0)
        var generator = SplitMix64(state: 7)
        #expect(
            (0..<4).map { _ in backoff.next(using: &generator) } == [10, 20, 35, 35].map { Duration.milliseconds($0) })
    }

    @Test func longOutagesStayAtTheCap() {
        let backoff = Backoff.redisReconnect
        #expect(backoff.baseDelay(attempt: 10_000) == .seconds(2))
        #expect(backoff.baseDelay(attempt: 0) == .milliseconds(50))
    }
}
