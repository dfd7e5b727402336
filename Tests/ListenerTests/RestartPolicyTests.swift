import Testing

@testable import Listener

@Suite struct RestartPolicyTests {
    @Test func backsOffExponentiallyWithJitterAndCap() {
        var policy = RestartPolicy()
        #expect(policy.exited(uptime: .seconds(1), draw: 0) == .milliseconds(200))
        #expect(policy.exited(uptime: .seconds(1), draw: 0) == .milliseconds(400))
        #expect(policy.exited(uptime: .seconds(1), draw: 1) == .milliseconds(400))
        for _ in 0..<20 { _ = policy.exited(uptime: .zero, draw: 0) }
        #expect(policy.exited(uptime: .zero, draw: 0) == .seconds(30))
        #expect(policy.isCrashLooping(currentUptime: nil))
        #expect(policy.isCrashLooping(currentUptime: .seconds(5)))
        #expect(!policy.isCrashLooping(currentUptime: .seconds(61)))
    }

    @Test func stableRunForgivesAndCrashLoopNeedsRepeatedFailures() {
        var policy = RestartPolicy()
        for _ in 0..<4 { _ = policy.exited(uptime: .seconds(2), draw: 0) }
        #expect(!policy.isCrashLooping(currentUptime: nil))
        _ = policy.exited(uptime: .seconds(2), draw: 0)
        #expect(policy.isCrashLooping(currentUptime: nil))
        #expect(policy.exited(uptime: .seconds(61), draw: 0) == .milliseconds(200))
        #expect(!policy.isCrashLooping(currentUptime: nil))
        policy.reset()
        #expect(policy.quickFailures == 0)
    }
}
