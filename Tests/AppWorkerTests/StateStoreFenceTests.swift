import Foundation
import Shared
import TestSupport
import Testing

@testable import AppWorker
@testable import Scheduling

/// The fence scripts of `StateStore` (cluster mode, DESIGN section 11) run against a real
/// redis-server: the claim, the fence slot of the guarded commit, the fence-checked repair, probe
/// and export cursor, and `isCommitted` after a newer owner claimed.
@Suite(.serialized, .startsProcesses)
struct StateStoreFenceTests {
    let keys = RedisKeys(app: "shop")

    private func store(_ redis: RedisServer, fence: UInt64?, wait: ReplicaWait? = nil) -> StateStore {
        StateStore(
            keys: keys, redis: RedisClient(settings: RedisSettings(port: redis.port, db: 1, wait: wait)), fence: fence)
    }

    private func meta(_ redis: RedisServer) throws -> [String: String] {
        try redis.cliRaw(["HGETALL", keys.meta], db: 1).fieldPairs
    }

    /// A batch that moves the counter to `commit` and the applied seq to `seq`, with one note event.
    private func batch(commit: Int64, seq: UInt64) -> CommitBatch {
        var batch = CommitBatch(keys: keys)
        var decision = Decision()
        decision.notes.append(.init(executor: nil, reason: "note \(seq)", cause: "msg-\(seq)"))
        batch.record(decision, now: 1000)
        batch.finish(pool: Fixtures.steady(), publication: nil, applied: (epoch: "ep-f", seq: seq), commit: commit)
        return batch
    }

    private func predecessor(_ commit: Int64, _ seq: UInt64?) -> StateStore.Predecessor {
        StateStore.Predecessor(commit: commit, applied: seq.map { ("ep-f", $0) })
    }

    @Test func theExitLineSaysWhetherANewerOwnerHoldsTheApp() {
        func lost(_ stored: String) -> FenceLost {
            FenceLost(app: "shop", refused: "commit 3", ours: 9, stored: stored)
        }
        #expect(lost("10").isNewerOwner && lost("12345678901234567890123").isNewerOwner)
        #expect(!lost("9").isNewerOwner && !lost("8").isNewerOwner && !lost("").isNewerOwner)
        #expect(!lost("010").isNewerOwner && !lost("garbage").isNewerOwner)
        #expect(
            lost("10").message
                == "shop: commit 3 refused: mimic:shop:meta holds fence 10, newer than this worker's fence 9: "
                + "a newer owner runs this app, so this instance must not run it")
        #expect(
            lost("").message.hasPrefix(
                "shop: commit 3 refused: mimic:shop:meta holds no fence, not this worker's fence 9"))
        #expect(lost("4").message.contains("its claim no longer holds"))
    }

    @Test func theClaimSetsAnEqualOrGreaterTokenAndRefusesAnOlderOneWithoutWriting() async throws {
        let redis = try RedisServer()
        let five = store(redis, fence: 5)
        #expect(try await five.claimFence() == .written)
        #expect(try meta(redis)["fence"] == "5")
        #expect(try await five.claimFence() == .written, "the same owner's worker restarted")
        #expect(try await store(redis, fence: 4).claimFence() == .fenced(stored: "5"))
        #expect(try meta(redis) == ["fence": "5"], "a refused claim writes nothing")
        #expect(try await store(redis, fence: 12).claimFence() == .written)
        #expect(try meta(redis)["fence"] == "12", "compared as numbers, not as text ('12' < '5')")
        #expect(try await store(redis, fence: 9).claimFence() == .fenced(stored: "12"))
        // Tokens past 2^53 keep their order (a Lua number would round them).
        _ = try redis.cli(["HSET", keys.meta, "fence", "9007199254740993"], db: 1)
        #expect(
            try await store(redis, fence: 9_007_199_254_740_992).claimFence() == .fenced(stored: "9007199254740993"))
        #expect(try await store(redis, fence: UInt64.max).claimFence() == .written)
        #expect(try meta(redis)["fence"] == "\(UInt64.max)")
        // A stored value no claim wrote is replaced.
        _ = try redis.cli(["HSET", keys.meta, "fence", "garbage"], db: 1)
        #expect(try await five.claimFence() == .written)
        #expect(try meta(redis)["fence"] == "5")
        // Without a fence nothing is claimed.
        _ = try redis.cli(["DEL", keys.meta], db: 1)
        #expect(try await store(redis, fence: nil).claimFence() == .written)
        #expect(try meta(redis).isEmpty)
    }

    @Test func aCommitIsFencedWhenTheStoredFenceIsNotOursAndThenWritesNothing() async throws {
        let redis = try RedisServer()
        let five = store(redis, fence: 5)
        _ = try await five.claimFence()
        #expect(try await five.commit(batch(commit: 1, seq: 1), after: predecessor(0, nil)) == .committed)
        #expect(try meta(redis)["commit"] == "1")
        #expect(try redis.streamEntries(keys.events, db: 1).count == 1)

        // A newer owner claims.
        _ = try await store(redis, fence: 6).claimFence()
        let before = try redis.cliRaw(["DBSIZE"], db: 1)
        let metaBefore = try meta(redis)
        #expect(try await five.commit(batch(commit: 2, seq: 2), after: predecessor(1, 1)) == .fenced(stored: "6"))
        #expect(try meta(redis) == metaBefore)
        #expect(try redis.cliRaw(["HGET", keys.applied, "seq"], db: 1) == ["1"])
        #expect(try redis.streamEntries(keys.events, db: 1).count == 1)
        #expect(try redis.cliRaw(["DBSIZE"], db: 1) == before)
        // The fence is checked before the predecessor: a stale predecessor with a stale fence is
        // fenced, not refused (a refused worker would reload and go on).
        #expect(try await five.commit(batch(commit: 9, seq: 9), after: predecessor(7, 7)) == .fenced(stored: "6"))
        // A fence that is gone is not ours either.
        _ = try redis.cli(["HDEL", keys.meta, "fence"], db: 1)
        #expect(try await five.commit(batch(commit: 2, seq: 2), after: predecessor(1, 1)) == .fenced(stored: ""))
        // The owner's commits go on.
        _ = try redis.cli(["HSET", keys.meta, "fence", "6"], db: 1)
        let six = store(redis, fence: 6)
        #expect(try await six.commit(batch(commit: 2, seq: 2), after: predecessor(1, 1)) == .committed)
        // A refused commit is still refused (the fence matches, the predecessor does not).
        #expect(try await six.commit(batch(commit: 2, seq: 2), after: predecessor(1, 1)) == .refused)
    }

    @Test func withoutAFenceAStoredFenceIsNeverRead() async throws {
        let redis = try RedisServer()
        _ = try redis.cli(["HSET", keys.meta, "fence", "7"], db: 1)
        let plain = store(redis, fence: nil)
        #expect(try await plain.commit(batch(commit: 1, seq: 1), after: predecessor(0, nil)) == .committed)
        #expect(try await plain.isCommitted(1, applied: ("ep-f", 1)) == .ran)
        #expect(try meta(redis)["fence"] == "7")
        #expect(try meta(redis)["commit"] == "1")
    }

    @Test func aScriptFlushDoesNotBreakTheFenceCheck() async throws {
        // The scripts go as EVAL with their text: a flushed script cache cannot turn a fenced
        // commit into a NOSCRIPT retry, nor an unfenced one into a failure.
        let redis = try RedisServer()
        let five = store(redis, fence: 5)
        _ = try await five.claimFence()
        _ = try redis.cli(["SCRIPT", "FLUSH"], db: 1)
        #expect(try await five.commit(batch(commit: 1, seq: 1), after: predecessor(0, nil)) == .committed)
        _ = try redis.cli(["HSET", keys.meta, "fence", "6"], db: 1)
        _ = try redis.cli(["SCRIPT", "FLUSH"], db: 1)
        #expect(try await five.commit(batch(commit: 2, seq: 2), after: predecessor(1, 1)) == .fenced(stored: "6"))
        _ = try redis.cli(["SCRIPT", "FLUSH"], db: 1)
        #expect(try await five.claimFence() == .fenced(stored: "6"))
        #expect(try meta(redis)["commit"] == "1")
    }

    @Test func isCommittedNeverCountsABatchOnceTheFenceIsTaken() async throws {
        let redis = try RedisServer()
        let five = store(redis, fence: 5)
        _ = try await five.claimFence()
        #expect(try await five.isCommitted(1, applied: ("ep-f", 1)) == .didNotRun)
        _ = try await five.commit(batch(commit: 1, seq: 1), after: predecessor(0, nil))
        #expect(try await five.isCommitted(1, applied: ("ep-f", 1)) == .ran)
        // A newer owner replays the same journal to the same counter and seq: not this worker's.
        _ = try await store(redis, fence: 6).claimFence()
        #expect(try await five.isCommitted(1, applied: ("ep-f", 1)) == .fenced(stored: "6"))
        #expect(try await five.isCommitted(2, applied: ("ep-f", 2)) == .fenced(stored: "6"))
    }

    @Test func repairProbeAndExportCursorWriteNothingOnceFenced() async throws {
        let redis = try RedisServer()
        let wait = ReplicaWait(replicas: 1, timeout: .milliseconds(100))
        let five = store(redis, fence: 5, wait: wait)
        _ = try redis.cli(["HSET", keys.meta, "fence", "5"], db: 1)
        let executor = try #require(Fixtures.steady().executors["e1"])
        #expect(try await five.repair([executor]) == .written)
        #expect(try redis.cliRaw(["SMEMBERS", keys.state(executor.state)], db: 1) == ["e1"])
        // No replica: the probe's WAIT falls short while the fence is ours.
        await #expect(throws: RedisError.self) { _ = try await five.confirmDurable(1) }

        _ = try redis.cli(["HSET", keys.meta, "fence", "6"], db: 1)
        _ = try redis.cli(["HDEL", keys.meta, "durable_probe"], db: 1)
        _ = try redis.cli(["DEL", keys.state(executor.state)], db: 1)
        #expect(try await five.repair([executor]) == .fenced(stored: "6"))
        #expect(try redis.cliRaw(["EXISTS", keys.state(executor.state)], db: 1) == ["0"])
        // Fenced answers before the WAIT is looked at: there is nothing to wait for.
        #expect(try await five.confirmDurable(1) == .fenced(stored: "6"))
        #expect(try meta(redis)["durable_probe"] == nil)

        let client = RedisClient(settings: RedisSettings(port: redis.port, db: 1))
        let cursor = EventStreamCursor(keys: keys, redis: client, fence: 5)
        await #expect(throws: FenceLost.self) { try await cursor.save(ExportCursor(lastID: "1-0", ordinal: 1)) }
        #expect(try redis.cliRaw(["EXISTS", keys.syslogCursor], db: 1) == ["0"])
        try await EventStreamCursor(keys: keys, redis: client, fence: 6).save(ExportCursor(lastID: "1-0", ordinal: 1))
        try await EventStreamCursor(keys: keys, redis: client).save(ExportCursor(lastID: "2-0", ordinal: 2))
        #expect(try await cursor.load().lastID == "2-0")
    }

    @Test func withRedisWaitTheClaimCountsOnlyOnceAReplicaHasIt() async throws {
        let master = try RedisServer()
        let five = store(master, fence: 5, wait: ReplicaWait(replicas: 1, timeout: .milliseconds(100)))
        // No replica yet: a shortfall is an error the worker retries, never a claim.
        await #expect(throws: RedisError.self) { _ = try await five.claimFence() }
        let replica = try RedisServer(extraArguments: ["--replicaof", "127.0.0.1", "\(master.port)"])
        var claimed = false
        for _ in 0..<100 where !claimed {
            claimed = (try? await five.claimFence()) == .written
            if !claimed { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(claimed)
        #expect(try replica.cliRaw(["HGET", keys.meta, "fence"], db: 1) == ["5"])
        // An older token is refused at once, without waiting for anything.
        let four = store(master, fence: 4, wait: ReplicaWait(replicas: 3, timeout: .milliseconds(100)))
        #expect(try await four.claimFence() == .fenced(stored: "5"))
    }
}
