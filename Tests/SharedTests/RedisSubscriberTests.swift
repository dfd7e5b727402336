import Shared
import TestSupport
import Testing

@Suite("Redis subscriber", .startsProcesses)
struct RedisSubscriberTests {
    @Test func receivesPublishedMessagesInOrder() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }
        let subscriber = try await RedisSubscriber.subscribe(
            settings: redis.settings, channels: ["mimic:shop:online"], patterns: ["mimic:*:lists"])

        for version in 1...100 {
            let receivers = try await client.command(["PUBLISH", "mimic:shop:online", #"{"version":\#(version)}"#])
            #expect(receivers == .integer(1))
        }
        try await client.command(["PUBLISH", "mimic:blog:lists", "blacklist add /admin/*"])

        var received: [RedisMessage] = []
        for try await message in subscriber.messages {
            received.append(message)
            if received.count == 101 { break }
        }
        #expect(received.prefix(100).map(\.text) == (1...100).map { #"{"version":\#($0)}"# })
        #expect(received.prefix(100).allSatisfy { $0.channel == "mimic:shop:online" && $0.pattern == nil })
        #expect(
            received[100]
                == RedisMessage(
                    channel: "mimic:blog:lists", pattern: "mimic:*:lists",
                    payload: Array("blacklist add /admin/*".utf8)))
        await subscriber.close()
    }

    @Test func closeFinishesTheStream() async throws {
        let redis = try RedisServer()
        let subscriber = try await RedisSubscriber.subscribe(settings: redis.settings, channels: ["c"])
        let consumer = Task {
            var count = 0
            for try await _ in subscriber.messages { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(50))
        await subscriber.close()
        #expect(try await consumer.value == 0)
        #expect(try redis.cliRaw(["PUBSUB", "NUMSUB", "c"]) == ["c", "0"])
    }

    @Test func cancellingTheConsumerUnsubscribes() async throws {
        let redis = try RedisServer()
        let subscriber = try await RedisSubscriber.subscribe(
            settings: redis.settings, channels: ["c"],
            pollInterval: .milliseconds(20))
        let consumer = Task {
            for try await _ in subscriber.messages {}
        }
        try await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        _ = await consumer.result

        // The owner thread notices the stop within a poll interval and closes the connection.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while try redis.cliRaw(["PUBSUB", "NUMSUB", "c"]) != ["c", "0"], clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try redis.cliRaw(["PUBSUB", "NUMSUB", "c"]) == ["c", "0"])
        await subscriber.close()
    }

    @Test func lostConnectionFinishesTheStreamWithAnError() async throws {
        let redis = try RedisServer()
        let subscriber = try await RedisSubscriber.subscribe(settings: redis.settings, channels: ["c"])
        redis.kill()
        let error = await #expect(throws: RedisError.self) {
            for try await _ in subscriber.messages {}
        }
        guard case .connectionLost? = error else {
            Issue.record("expected connectionLost, got \(String(describing: error))")
            return
        }
        await subscriber.close()
    }

    @Test func subscribingToAnUnreachableRedisThrows() async throws {
        let port = try FreePort.take()
        await #expect(throws: RedisError.self) {
            _ = try await RedisSubscriber.subscribe(settings: RedisSettings(port: port), channels: ["c"])
        }
    }
}

// Alone: its bounds time a stream ending, and synchronous tests polling processes can hold both
// threads of the cooperative pool on 2 cores for seconds (once 12.9 s against the 10 s bound).
@Suite("Redis subscriber keepalive", .serialized, .runsAlone)
struct RedisSubscriberKeepAliveTests {
    @Test func idleSubscriptionSurvivesKeepAlivePings() async throws {
        let redis = try RedisServer()
        let client = redis.client()
        defer { Task { await client.close() } }
        let subscriber = try await RedisSubscriber.subscribe(
            settings: redis.settings, channels: ["c"], pollInterval: .milliseconds(20), keepAlive: .milliseconds(50))
        try await Task.sleep(for: .milliseconds(400))
        try await client.command(["PUBLISH", "c", "still here"])
        var iterator = subscriber.messages.makeAsyncIterator()
        #expect(try await iterator.next()?.text == "still here")
        await subscriber.close()
    }

    @Test func stoppedRedisFinishesTheStreamWithATimeout() async throws {
        let redis = try RedisServer()
        let subscriber = try await RedisSubscriber.subscribe(
            settings: redis.settings, channels: ["c"], pollInterval: .milliseconds(20),
            keepAlive: .milliseconds(100), commandTimeout: .milliseconds(300))
        redis.pause()
        defer { redis.resume() }
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: RedisError.self) {
            for try await _ in subscriber.messages {}
        }
        // Generous, as in RedisOutageTests: the bound is that the stream ends instead of hanging; a
        // loaded 2-core CI machine running every suite at once takes more than 3 s.
        #expect(clock.now - started < .seconds(10))
        guard case .timeout? = error else {
            Issue.record("expected timeout, got \(String(describing: error))")
            return
        }
        await subscriber.close()
    }
}
