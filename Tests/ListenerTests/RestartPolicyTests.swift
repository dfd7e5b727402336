import Testing
@testable import Listener

@Suite struct RestartPolicyTests {
    @Test func backsOffExponentiallyWithJitterAndCap() {
        var policy = RestartPolicy()
        #expect(policy.exited(uptime: .seconds(1), jitter: 1) == .milliseconds(200))
        #expect(policy.exited(uptime: .seconds(1), jitter: 1) == .milliseconds(400))
        #expect(policy.exited(uptime: .seconds(1), jitter: 0) == .milliseconds(400))
        for _ in 0..<20 { _ = policy.exited(uptime: .zero, jitter: 1) }
        #expect(policy.exited(uptime: .zero, jitter: 1) == .seconds(30))
        #expect(policy.isCrashLooping(currentUptime: nil))
        #expect(policy.isCrashLooping(currentUptime: .seconds(5)))
        #expect(!policy.isCrashLooping(currentUptime: .seconds(61)))
    }

    @Test func stableRunForgivesAndCrashLoopNeedsRepeatedFailures() {
        var policy = RestartPolicy()
        for _ in 0..<4 { _ = policy.exited(uptime: .seconds(2), jitter: 1) }
        #expect(!policy.isCrashLooping(currentUptime: nil))
        _ = policy.exited(uptime: .seconds(2), jitter: 1)
        #expect(policy.isCrashLooping(currentUptime: nil))
        #expect(policy.exited(uptime: .seconds(61), jitter: 1) == .milliseconds(200))
        #expect(!policy.isCrashLooping(currentUptime: nil))
        policy.reset()
        #expect(policy.quickFailures == 0)
    }

    @Test func jitterStaysWithinHalfToFull() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        for _ in 0..<3 { _ = backoff.next(jitter: 0.5) }
        let delay = backoff.next(jitter: 0.3)
        #expect(delay >= .milliseconds(400) && delay <= .milliseconds(800))
        backoff.reset()
        #expect(backoff.next(jitter: 0) == .milliseconds(50))
    }
}
