import Testing

@testable import Listener

/// A request with messages for several apps is all or nothing (DESIGN section 4): each journal
/// holds its part (durable, not forwarded) until every part is durable; a part whose sibling
/// failed is voided: forwarded as a void gap, its keys given back, durable across a restart.
/// These check the backlog's decisions; the journals' (both backends) are in `JournalProtocolTests`.
@Suite struct JournalHoldTests {
    func entry(_ n: Int, _ prefix: String = "m") -> JournalEntry {
        JournalEntry(key: "admin\u{1F}\(prefix)-\(n)", envelope: Array("{\"id\":\"\(prefix)-\(n)\"}".utf8))
    }

    func empty() -> JournalBacklog {
        JournalBacklog(limit: 1 << 20, nextSeq: 1, acked: 0, unacknowledged: [], recent: RecentIDIndex(capacity: 100))
    }

    @Test func aHeldPartStopsForwardingUntilReleased() {
        var backlog = empty()
        _ = backlog.admit([entry(1), entry(2)], roomReserved: false, now: 1)
        _ = backlog.admit([entry(3), entry(4)], roomReserved: false, now: 1)
        backlog.hold(3...4)
        _ = backlog.admit([entry(5)], roomReserved: false, now: 1)
        backlog.durable(through: 5)
        #expect(backlog.forwardableSeq == 2)
        #expect(backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20).map(\.seq) == [1, 2])
        // An ack cannot pass what was forwardable.
        backlog.acknowledge(5)
        #expect(backlog.ackedSeq == 2)
        backlog.release(3...4)
        #expect(backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20).map(\.seq) == [3, 4, 5])
        #expect(backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20).allSatisfy { !$0.voided })
    }

    @Test func aVoidedPartIsForwardedAsVoidAndItsKeysAreGivenBack() {
        var backlog = empty()
        _ = backlog.admit([entry(1)], roomReserved: false, now: 1)
        _ = backlog.admit([entry(2), entry(3)], roomReserved: false, now: 1)
        backlog.hold(2...3)
        _ = backlog.admit([entry(4)], roomReserved: false, now: 1)
        backlog.durable(through: 4)
        backlog.void(2...3, keys: [entry(2).key, entry(3).key])
        let records = backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20)
        #expect(records.map(\.seq) == [1, 2, 3, 4])
        #expect(records.map(\.voided) == [false, true, true, false])
        // The retry is appended anew, with new seqs.
        let retried = backlog.admit([entry(2), entry(3)], roomReserved: false, now: 1)
        #expect(retried.seqs == [5, 6])
        // The keys of other records stay known.
        #expect(backlog.admit([entry(1), entry(4)], roomReserved: false, now: 1).receipt?.duplicates == 2)
    }

    @Test func aRolledBackWriteDropsItsHolds() {
        var backlog = empty()
        _ = backlog.admit([entry(1)], roomReserved: false, now: 1)
        backlog.durable(through: 1)
        _ = backlog.admit([entry(2)], roomReserved: false, now: 1)
        backlog.hold(2...2)
        backlog.rollBack(from: 2, keys: [entry(2).key])
        #expect(backlog.holds.isEmpty)
        #expect(backlog.lastSeq == 1)
        #expect(backlog.admit([entry(2)], roomReserved: false, now: 1).seqs == [2])
    }

    @Test func recentIDIndexGivesKeysBackWithoutForgettingReinsertedOnes() {
        var index = RecentIDIndex(capacity: 3)
        index.insert("a")
        index.insert("b")
        index.remove("a")
        index.insert("a")  // again, newest now
        index.insert("c")
        index.insert("d")  // pushes out the oldest live key: b (a's stale slot is skipped)
        #expect(!index.contains("b"))
        #expect(index.contains("a") && index.contains("c") && index.contains("d"))
        #expect(index.count == 3)
        for n in 0..<50 { index.insert("k\(n)") }
        #expect(index.count == 3 && index.contains("k49") && !index.contains("a"))
    }
}
