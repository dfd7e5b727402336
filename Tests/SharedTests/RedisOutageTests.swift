import Shared
import TestSupport
import Testing

// Serialized: these tests measure timeouts, which parallel load on two cores would distort.
@Suite("Redis outages", .serialized, .startsProcesses)
struct RedisOutageTests {
    @Test func reconnectsAfterRedisIsKilledAndRestarted() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }
        try await client.command(["SET", "before", "1"])

        redis.kill()
        let lost = await #expect(throws: RedisError.self) { try await client.command(["GET", "before"]) }
        switch lost {
        case .connectionLost?, .connectionFailed?: break
        default: Issue.record("expected a lost connection, got \(String(describing: lost))")
        }
        let down = await #expect(throws: RedisError.self) { try await client.ping() }
        guard case .connectionFailed? = down else {
            Issue.record("expected connectionFailed while Redis is down, got \(String(describing: down))")
            return
        }

        try redis.start()
        try await client.ping()
        try await client.command(["SET", "after", "2"])
        #expect(try await client.command(["GET", "after"]).string == "2")
    }

    @Test func stoppedRedisTimesOutAndRecoversAfterContinue() async throws {
        let redis = try RedisServer()
        let client = redis.client(commandTimeout: .milliseconds(500))
        defer { Task { await client.close() } }
        try await client.ping()

        redis.pause()
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: RedisError.self) { try await client.command(["SET", "k", "v"]) }
        let elapsed = clock.now - started
        redis.resume()

        guard case .timeout(_, let after)? = error else {
            Issue.record("expected timeout, got \(String(describing: error))")
            return
        }
        #expect(after == .milliseconds(500))
        #expect(elapsed >= .milliseconds(400))
        // Generous: the bound is that the call returns at all; a loaded 2-core CI machine is slow.
        #expect(elapsed < .seconds(30))

        // Redis may have applied the SET before the timeout fired or after SIGCONT; either way
        // the next call reconnects and works.
        try await client.ping()
        try await client.command(["SET", "k", "w"])
        #expect(try await client.command(["GET", "k"]).string == "w")
    }

    @Test func connectingToAStoppedRedisTimesOutToo() async throws {
        let redis = try RedisServer()
        redis.pause()
        defer { redis.resume() }
        // The kernel still accepts the TCP connection; it is the first reply that never comes.
        let client = redis.client(db: 1, commandTimeout: .milliseconds(300))
        defer { Task { await client.close() } }
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(clock.now - started < .seconds(30))
        guard case .timeout? = error else {
            Issue.record("expected timeout, got \(String(describing: error))")
            return
        }
    }
}
