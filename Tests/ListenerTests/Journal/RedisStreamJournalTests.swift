import Foundation
import Logging
import Shared
import Synchronization
import TestSupport
import Testing

@testable import Listener

/// The Redis-stream journal against a real `redis-server`: several journal objects on one stream
/// stand for several listener instances (DESIGN section 11). The protocol behaviour both backends
/// share is in `JournalProtocolTests`.
@Suite(.serialized, .startsProcesses) struct RedisStreamJournalTests {
    @Test func theStreamHoldsSeqKeyAcceptTimeAndBinaryEnvelope() async throws {
        let site = try JournalSite(.redis)
        var options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 20)
        options.clock = { 1_795_948_383_508 }
        let journal = try await site.openStream(options)
        let binary: [UInt8] = [0, 1, 0xFF, 10, 13, 0x1F, 0xC3]
        _ = try await journal.append([JournalEntry(key: "waf\u{1F}x", envelope: binary)]).get()
        #expect(journal.forwardable().first?.envelope == binary)
        #expect(try site.cli("XLEN", "mimic:shop:journal") == ["1"])
        #expect(
            try site.cli("XRANGE", "mimic:shop:journal", "-", "+").prefix(5) == [
                "1-0", "key", "waf\u{1F}x", "at", "1795948383508",
            ])
        #expect(try site.cli("ZSCORE", "mimic:shop:journal:keys", "waf\u{1F}x") == ["1"])
        #expect(try site.cli("GET", "mimic:shop:journal:epoch") == [journal.epoch])
        await journal.finish()

        // Another instance, after a restart: same epoch, and the envelope read back byte for byte.
        let other = try await site.openStream(options)
        #expect(other.epoch == journal.epoch)
        #expect(other.forwardable().first?.envelope == binary)
        await other.finish()
    }

    @Test func twoInstancesShareOneSeqOrderAndDedupeEachOthersKeys() async throws {
        let site = try JournalSite(.redis)
        let options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        let first = try await site.openStream(options)
        let second = try await site.openStream(options)
        #expect(first.epoch == second.epoch)

        #expect(try await first.append([journalEntry(1)]).get().appended == 1)
        #expect(
            try await second.append([journalEntry(1), journalEntry(2)]).get()
                == AppendReceipt(appended: 1, duplicates: 1))

        // Both append at once, many requests at a time each, with keys of their own and keys the
        // other also sends.
        async let fromFirst: [Result<AppendReceipt, JournalRejection>] = (3...60).concurrentMap { n in
            await first.append([journalEntry(n), journalEntry(n, "shared")])
        }
        async let fromSecond: [Result<AppendReceipt, JournalRejection>] = (3...60).concurrentMap { n in
            await second.append([journalEntry(n, "other"), journalEntry(n, "shared")])
        }
        let results = await fromFirst + fromSecond
        let receipts = try results.map { try $0.get() }
        // 2 + 58 own keys each + 58 shared keys once.
        #expect(receipts.reduce(0) { $0 + $1.appended } == 58 * 3)
        #expect(receipts.reduce(0) { $0 + $1.duplicates } == 58)
        let total: UInt64 = 2 + 58 * 3
        for journal in [first, second] {
            #expect(await becomesTrue { journal.snapshot().lastSeq == total })
            let records = journal.forwardable()
            #expect(records.map(\.seq) == Array(1...total), "no seq twice, no gap")
            let ids = Set(records.map { String(decoding: $0.envelope, as: UTF8.self) })
            #expect(ids.count == Int(total), "no key journaled twice")
        }
        #expect(first.forwardable() == second.forwardable())
        #expect(try site.cli("ZCARD", "mimic:shop:journal:keys") == ["\(total)"])

        // The instance that forwards acknowledges; the other one follows.
        first.acknowledge(100)
        #expect(await becomesTrue { second.ackedSeqNow == 100 })
        #expect(second.forwardable().first?.seq == 101)
        await first.finish()
        await second.finish()

        let third = try await site.openStream(options)
        #expect(third.epoch == first.epoch && third.ackedSeqNow == 100)
        #expect(try await third.append([journalEntry(61)]).get().appended == 1)
        #expect(third.snapshot().lastSeq == total + 1)
        await third.finish()
    }

    @Test func anotherInstanceForwardsAHeldPartOnlyOnceReleasedAndAVoidedOneAsAGap() async throws {
        let site = try JournalSite(.redis)
        let options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        let accepting = try await site.openStream(options)
        let forwarding = try await site.openStream(options)
        _ = try await accepting.append([journalEntry(1)]).get()
        let part = try await accepting.append([journalEntry(2), journalEntry(3)], held: true).get()
        #expect(part.held == 2...3)
        _ = try await accepting.append([journalEntry(4)]).get()
        #expect(await becomesTrue { forwarding.snapshot().lastSeq == 4 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(forwarding.forwardable().map(\.seq) == [1], "held records are not forwarded before release")
        accepting.releaseHold(2...3)
        #expect(await becomesTrue { forwarding.forwardable().map(\.seq) == [1, 2, 3, 4] })

        let failed = try await accepting.append([journalEntry(5), journalEntry(6)], held: true).get()
        #expect(failed.held == 5...6)
        #expect(await accepting.void(5...6))
        #expect(
            await becomesTrue { forwarding.forwardable().map(\.voided) == [false, false, false, false, true, true] })
        // The keys came back: the sender's retry is appended anew, through either instance.
        #expect(try await forwarding.append([journalEntry(5), journalEntry(6)]).get().appended == 2)
        await accepting.finish()
        await forwarding.finish()
    }

    @Test func aHeldPartWhoseInstanceDiedIsReleasedAfterTheHoldTimeout() async throws {
        let site = try JournalSite(.redis)
        var options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        options.holdTimeout = .milliseconds(500)
        let dying = try await site.openStream(options)
        _ = try await dying.append([journalEntry(1), journalEntry(2)], held: true).get()
        await dying.finish()  // neither released nor voided
        let survivor = try await site.openStream(options)
        #expect(survivor.forwardable().isEmpty)
        #expect(await becomesTrue { survivor.forwardable().map(\.seq) == [1, 2] })
        #expect(try site.cli("HLEN", "mimic:shop:journal:holds") == ["0"])
        // Too late to void: the part was released everywhere; the retry is deduplicated.
        #expect(await survivor.void(1...2) == false)
        #expect(try await survivor.append([journalEntry(1)]).get().duplicates == 1)
        await survivor.finish()
    }

    @Test func retentionTrimsTheStreamAndTheKeyIndexAndRewindReportsTheTrimmedPart() async throws {
        let site = try JournalSite(.redis)
        var options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        let size = journalEntry(10).recordSize
        // Acknowledged records are kept up to 5 records' bytes, however young.
        options.retention = JournalRetention(retainMs: 3_600_000, maxBytes: size * 5)
        // Keys outlive their records only within the newest 10 seqs here.
        options.recentIDs = 10
        let journal = try await site.openStream(options)
        for n in 10...39 { _ = try await journal.append([journalEntry(n)]).get() }
        journal.acknowledge(20)
        #expect(await becomesTrue { journal.snapshot().oldestRetainedSeq == 16 })
        #expect(try site.cli("XLEN", "mimic:shop:journal") == ["15"])
        #expect(try site.cli("ZCARD", "mimic:shop:journal:keys") == ["15"])
        #expect(try site.cli("GET", "mimic:shop:journal:bytes") == ["\(size * 15)"])

        let outcome = await journal.rewind(to: 10)
        #expect(outcome == RewindOutcome(acked: 15, gap: 11...15))
        #expect(journal.forwardable().map(\.seq) == Array(16...30))
        #expect(try site.cli("GET", "mimic:shop:journal:acked") == ["15"])
        // A trimmed key is forgotten (the dedupe window is the retained stream); a kept one is not.
        #expect(
            try await journal.append([journalEntry(10), journalEntry(39)]).get()
                == AppendReceipt(appended: 1, duplicates: 1))
        await journal.finish()
    }

    @Test func expiredAcknowledgedRecordsAreTrimmedByAcceptTime() async throws {
        let site = try JournalSite(.redis)
        let now = Mutex<Int64>(1_000_000)
        var options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        options.clock = { now.withLock { $0 } }
        options.retention = JournalRetention(retainMs: 60_000, maxBytes: 1 << 30)
        let journal = try await site.openStream(options)
        for n in 1...5 { _ = try await journal.append([journalEntry(n)]).get() }
        now.withLock { $0 += 30_000 }
        for n in 6...10 { _ = try await journal.append([journalEntry(n)]).get() }
        journal.acknowledge(8)
        try await Task.sleep(for: .seconds(1.5))
        #expect(journal.snapshot().oldestRetainedSeq == 1, "nothing is older than journal_retain yet")
        now.withLock { $0 += 31_000 }
        #expect(await becomesTrue { journal.snapshot().oldestRetainedSeq == 6 })
        #expect(try site.cli("XLEN", "mimic:shop:journal") == ["5"])
        await journal.finish()
    }

    @Test func aStoppedRedisFailsAppendsWithStorageAndTheJournalRecovers() async throws {
        let site = try JournalSite(.redis, redisArguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        _ = try await journal.append([journalEntry(1)]).get()

        site.redis!.kill()
        let clock = ContinuousClock()
        let started = clock.now
        let down = await journal.append([journalEntry(2)])
        #expect(clock.now - started < .seconds(10), "no hang")
        guard case .failure(.storage(let reason)) = down else {
            Issue.record("expected a storage failure, got \(down)")
            return
        }
        #expect(reason.contains("mimic:shop:journal") && reason.contains("127.0.0.1:\(site.redis!.port)"))

        try site.redis!.start()
        #expect(
            await becomesTrue(within: .seconds(20)) {
                (try? await journal.append([journalEntry(2)]).get().appended) == 1
            })
        #expect(journal.forwardable().map(\.seq) == [1, 2])
        await journal.finish()
    }

    @Test func aPausedRedisNeitherBlocksTheCallerNorHangsTheAppend() async throws {
        let site = try JournalSite(.redis)
        var options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        options.commandTimeout = .milliseconds(500)
        let journal = try await site.openStream(options)
        _ = try await journal.append([journalEntry(1)]).get()

        site.redis!.pause()
        let clock = ContinuousClock()
        let answered = Mutex<Result<AppendReceipt, JournalRejection>?>(nil)
        let called = clock.now
        // What ingress does on an event loop: the call returns at once, the answer comes later.
        journal.append([journalEntry(2)], reserved: 0, held: false) { result in answered.withLock { $0 = result } }
        #expect(clock.now - called < .milliseconds(100))
        #expect(await becomesTrue(within: .seconds(10)) { answered.withLock { $0 != nil } }, "no hang")
        guard case .failure(.storage)? = answered.withLock({ $0 }) else {
            Issue.record("expected a storage failure, got \(String(describing: answered.withLock { $0 }))")
            site.redis!.resume()
            return
        }
        site.redis!.resume()
        // The paused Redis may have run the first try after SIGCONT: then the retry is a duplicate.
        #expect(
            await becomesTrue(within: .seconds(20)) {
                guard let receipt = try? await journal.append([journalEntry(2)]).get() else { return false }
                return receipt.appended + receipt.duplicates == 1
            })
        #expect(await becomesTrue { journal.forwardable().map(\.seq) == [1, 2] })
        await journal.finish()
    }

    @Test func redisWaitWithoutAReplicaIsNotDurable() async throws {
        let site = try JournalSite(.redis)
        site.redisSettings.wait = ReplicaWait(replicas: 1, timeout: .milliseconds(100))
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        let outcome = await journal.append([journalEntry(1)])
        guard case .failure(.storage(let reason)) = outcome else {
            Issue.record("expected not durable, got \(outcome)")
            return
        }
        #expect(reason.contains("replicas"))
        #expect(journal.forwardable().isEmpty, "nothing unconfirmed is forwarded")
        // The retry is answered only once WAIT confirms it, which it cannot here.
        #expect(await journal.append([journalEntry(1)]) == outcome)
        // A held part that fails so is voided at once: no hold left to stall forwarding, and its
        // keys are given back for the retry.
        guard case .failure(.storage) = await journal.append([journalEntry(2), journalEntry(3)], held: true) else {
            Issue.record("a held append without its replica must fail")
            return
        }
        #expect(try site.cli("HLEN", "mimic:shop:journal:holds") == ["0"])
        #expect(try site.cli("HGET", "mimic:shop:journal:voids", "2") == ["3"])
        #expect(try site.cli("ZCARD", "mimic:shop:journal:keys") == ["1"])
        await journal.finish()
    }

    @Test func redisWaitWithAReplicaSucceeds() async throws {
        let site = try JournalSite(.redis, redisArguments: ["--repl-diskless-sync-delay", "0"])
        let replica = try RedisServer(extraArguments: [
            "--replicaof", "127.0.0.1", "\(site.redis!.port)", "--repl-diskless-sync-delay", "0",
        ])
        defer { replica.kill() }
        #expect(
            eventually(timeout: 15) {
                // INFO is one bulk string with \r\n line ends, which Swift does not split on "\n".
                (try? replica.cli("INFO", "replication"))?.contains("master_link_status:up") == true
            })
        site.redisSettings.wait = ReplicaWait(replicas: 1, timeout: .seconds(2))
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        let other = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        #expect(try await journal.append([journalEntry(1), journalEntry(2)]).get().appended == 2)
        #expect(journal.forwardable().map(\.seq) == [1, 2])
        #expect(await becomesTrue { other.forwardable().map(\.seq) == [1, 2] })
        #expect(try replica.cliRaw(["XLEN", "mimic:shop:journal"], db: 3) == ["2"])
        await journal.finish()
        await other.finish()
    }

    @Test func aMalformedEntryIsSkippedAsAGapAndNeverTraps() async throws {
        let site = try JournalSite(.redis)
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        _ = try await journal.append([journalEntry(1)]).get()
        // What an operator's hand or another program could leave: an entry that is no record.
        _ = try site.cli("XADD", "mimic:shop:journal", "2-0", "key", "x", "at", "not-a-number", "env", "{}")
        _ = try site.cli("SET", "mimic:shop:journal:seq", "2")
        _ = try await journal.append([journalEntry(3)]).get()
        let records = journal.forwardable()
        #expect(records.map(\.seq) == [1, 2, 3])
        #expect(records.map(\.voided) == [false, true, false])
        #expect(journal.snapshot().skippedTotal == 1)
        await journal.finish()
    }

    /// A catch-up read that finds nothing new (here: nothing was appended yet) once declared the
    /// whole range up to the append's last seq a hole, void placeholders for records that came
    /// later. It voids nothing; the reader, which follows the stream in order, brings the records
    /// in. (How the cluster battery met such a read is the next test.)
    @Test func anEmptyCatchUpReadVoidsNothingAndTheReaderBringsTheRecords() async throws {
        let site = try JournalSite(.redis)
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        let other = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        let caughtUp = await journal.catchUp(through: 3)
        #expect(!caughtUp)
        #expect(journal.forwardable().isEmpty, "\(journal.forwardable().map { ($0.seq, $0.voided) })")
        #expect(journal.snapshot().skippedTotal == 0)
        _ = try await other.append([journalEntry(1), journalEntry(2), journalEntry(3)]).get()
        #expect(
            await becomesTrue {
                let records = journal.forwardable()
                return records.map(\.seq) == [1, 2, 3] && records.allSatisfy { !$0.voided }
            })
        await journal.finish()
        await other.finish()
    }

    /// The cluster battery's lost batch (RELIABILITY.md): an instance back from a partition has its
    /// reader and an append's catch-up read the same `readCount` entries from the same place, and
    /// whichever applies second finds them known. The branch that took that for "the stream lost
    /// the records" voided everything up to the append's last seq, records other instances then
    /// appended included. The read now says it was overtaken and voids nothing.
    @Test func aCatchUpReadTheReaderOvertookVoidsNothing() async throws {
        let site = try JournalSite(.redis)
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        let other = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        let first = RedisStreamJournal.readCount + 500
        for start in stride(from: 1, through: first, by: 100) {
            _ = try await other.append((start..<start + 100).map { journalEntry($0) }).get()
        }
        #expect(await becomesTrue { journal.forwardable().count == first })
        // Decided from seq 1 before the reader applied those entries: they are all known now.
        let read = await journal.catchUpRead(from: 1, through: UInt64(first + 500))
        #expect(read == .overtaken)
        #expect(journal.snapshot().skippedTotal == 0)
        for start in stride(from: first + 1, through: first + 500, by: 100) {
            _ = try await other.append((start..<start + 100).map { journalEntry($0) }).get()
        }
        #expect(
            await becomesTrue {
                let records = journal.forwardable()
                return records.count == first + 500 && records.allSatisfy { !$0.voided }
            })
        #expect(journal.forwardable().filter(\.voided).isEmpty)
        await journal.finish()
        await other.finish()
    }

    @Test func anAcknowledgedSeqFarPastTheStreamIsAGapNotATrap() async throws {
        let site = try JournalSite(.redis)
        let options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        let journal = try await site.openStream(options)
        for n in 1...3 { _ = try await journal.append([journalEntry(n)]).get() }
        await journal.finish()
        _ = try site.cli("SET", "mimic:shop:journal:acked", "1000000000")

        let reopened = try await site.openStream(options)
        #expect(reopened.ackedSeqNow == 1_000_000_000)
        #expect(await reopened.rewind(to: 0) == RewindOutcome(acked: 1_000_000_000, gap: 1...1_000_000_000))
        // No seq at or below what the worker may have applied is handed out again.
        #expect(await becomesTrue { (try? site.cli("GET", "mimic:shop:journal:seq")) == ["1000000000"] })
        #expect(try await reopened.append([journalEntry(4)]).get().appended == 1)
        #expect(reopened.forwardable().map(\.seq) == [1_000_000_001])
        await reopened.finish()
    }

    @Test func scriptsRunByDigestAndAreSentAgainWhenRedisForgotThem() async throws {
        let site = try JournalSite(.redis)
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        _ = try await journal.append([journalEntry(1)]).get()
        // What a restarted Redis or a promoted replica looks like to a cached digest.
        _ = try site.cli("SCRIPT", "FLUSH")
        #expect(try await journal.append([journalEntry(2)]).get().appended == 1)
        journal.acknowledge(2)
        #expect(await becomesTrue { (try? site.cli("GET", "mimic:shop:journal:acked")) == ["2"] })
        let stats = try site.redis!.cli("INFO", "commandstats")
        #expect(stats.contains("cmdstat_evalsha:calls="))
        await journal.finish()
    }

    @Test func aRedisThatLostTheJournalsTailNeverGetsASeqReused() async throws {
        let site = try JournalSite(.redis)
        let journal = try await site.openStream(RedisStreamJournal.Options(maxBacklogBytes: 1 << 30))
        for n in 1...5 { _ = try await journal.append([journalEntry(n)]).get() }
        // What a restart from an older AOF leaves: the last two records and their seqs gone.
        _ = try site.cli("XDEL", "mimic:shop:journal", "4-0", "5-0")
        _ = try site.cli("ZREM", "mimic:shop:journal:keys", journalEntry(4).key, journalEntry(5).key)
        _ = try site.cli("SET", "mimic:shop:journal:seq", "3")
        #expect(await becomesTrue { (try? site.cli("GET", "mimic:shop:journal:seq")) == ["5"] })
        #expect(try await journal.append([journalEntry(6)]).get().appended == 1)
        #expect(journal.forwardable().map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(try site.cli("XRANGE", "mimic:shop:journal", "6-0", "6-0").first == "6-0")
        await journal.finish()
    }

    @Test func theSeqAndEpochSurviveARestartOfEveryInstance() async throws {
        let site = try JournalSite(.redis)
        let options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        let journal = try await site.openStream(options)
        for n in 1...3 { _ = try await journal.append([journalEntry(n)]).get() }
        journal.acknowledge(3)
        await journal.finish()
        #expect(try site.cli("GET", "mimic:shop:journal:acked") == ["3"])
        let reopened = try await site.openStream(options)
        #expect(reopened.epoch == journal.epoch)
        #expect(reopened.forwardable().isEmpty)
        #expect(try await reopened.append([journalEntry(4)]).get().appended == 1)
        #expect(reopened.forwardable().map(\.seq) == [4])
        await reopened.finish()
    }
}

/// The stream journal through Sentinel with `redis.wait`: a master killed mid-stream costs some
/// 503s, never an acknowledged message, a seq twice or a gap.
@Suite(.serialized, .runsAlone) struct RedisStreamJournalFailoverTests {
    @Test func appendsGoOnAtTheNewMasterAfterTheMasterIsKilled() async throws {
        // Two replicas: after the failover one is left for WAIT.
        let topology = try SentinelTopology(replicas: 2)
        let settings = RedisSettings(
            db: 3, connectTimeout: .milliseconds(500),
            sentinel: SentinelSettings(master: SentinelTopology.masterName, nodes: topology.settingsNodes),
            wait: ReplicaWait(replicas: 1, timeout: .milliseconds(500)))
        var options = RedisStreamJournal.Options(maxBacklogBytes: 1 << 30)
        options.commandTimeout = .milliseconds(500)
        options.readBlock = .milliseconds(50)
        let journal = try await RedisStreamJournal.open(
            app: "shop", redis: settings, options: options, logger: Logger(label: "test"))
        for n in 1...5 { #expect(try await journal.append([journalEntry(n)]).get().appended == 1) }

        let old = try topology.currentMaster()
        old.kill()
        var n = 6
        var refused = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while n <= 10, ContinuousClock.now < deadline {
            switch await journal.append([journalEntry(n)]) {
            case .success(let receipt):
                // A retry whose first try reached a replica before its WAIT fell short is a duplicate.
                #expect(receipt.appended + receipt.duplicates == 1)
                n += 1
            case .failure(.storage):
                refused += 1
                try await Task.sleep(for: .milliseconds(100))
            case .failure(let other):
                Issue.record("unexpected \(other)")
                n = 11
            }
        }
        #expect(n == 11, "appends resumed after the failover")
        #expect(refused > 0, "the kill was noticed")
        #expect(try topology.currentMaster().port != old.port)
        let records = journal.forwardable()
        #expect(records.map(\.seq) == Array(1...UInt64(records.count)), "no seq twice, no gap")
        let ids = records.map { String(decoding: $0.envelope, as: UTF8.self) }
        #expect(Set(ids) == Set((1...10).map { String(decoding: journalEntry($0).envelope, as: UTF8.self) }))
        #expect(ids.count == 10, "each message journaled once")
        await journal.finish()

        let reopened = try await RedisStreamJournal.open(
            app: "shop", redis: settings, options: options, logger: Logger(label: "test"))
        #expect(reopened.epoch == journal.epoch)
        #expect(reopened.forwardable() == records)
        await reopened.finish()
    }
}

extension ClosedRange where Bound == Int {
    /// Runs `body` for every element at once (as many senders would) and collects the answers.
    fileprivate func concurrentMap<T: Sendable>(_ body: @escaping @Sendable (Int) async -> T) async -> [T] {
        await withTaskGroup(of: T.self) { group in
            for element in self { group.addTask { await body(element) } }
            var results: [T] = []
            for await result in group { results.append(result) }
            return results
        }
    }
}
