import Testing

@testable import Listener

@Suite struct JournalBacklogTests {
    func entry(_ n: Int) -> JournalEntry {
        JournalEntry(key: JournalRecord.key(source: "admin", id: "m-\(n)"), envelope: Array("{\"id\":\"m-\(n)\"}".utf8))
    }

    func empty(limit: Int = 1 << 20) -> JournalBacklog {
        JournalBacklog(limit: limit, nextSeq: 1, acked: 0, unacknowledged: [], recent: RecentIDIndex(capacity: 100))
    }

    @Test func admitAssignsConsecutiveSeqsAndCountsBytes() {
        var backlog = empty()
        let first = backlog.admit([entry(1), entry(2)], roomReserved: false, now: 1_000)
        #expect(
            first
                == .admitted(
                    records: [
                        JournalRecord(seq: 1, at: 1_000, key: entry(1).key, envelope: entry(1).envelope),
                        JournalRecord(seq: 2, at: 1_000, key: entry(2).key, envelope: entry(2).envelope),
                    ], receipt: AppendReceipt(appended: 2, duplicates: 0)))
        let second = backlog.admit([entry(3)], roomReserved: false, now: 1_000)
        #expect(second.seqs == [3])
        #expect(backlog.lastSeq == 3)
        #expect(backlog.count == 3)
        #expect(backlog.bytes == entry(1).recordSize + entry(2).recordSize + entry(3).recordSize)
        #expect(backlog.appendedTotal == 3)
    }

    @Test func duplicatesInTheCallAndAcrossCallsAreAnsweredNotAppended() {
        var backlog = empty()
        let first = backlog.admit([entry(1), entry(2), entry(1)], roomReserved: false, now: 1_000)
        #expect(first.receipt == AppendReceipt(appended: 2, duplicates: 1))
        let again = backlog.admit([entry(2)], roomReserved: false, now: 1_000)
        #expect(again == .admitted(records: [], receipt: AppendReceipt(appended: 0, duplicates: 1)))
        #expect(backlog.lastSeq == 2)
        #expect(backlog.duplicatesTotal == 2)
    }

    @Test func limitRefusesTheWholeAppendAndChangesNothing() {
        let size = entry(1).recordSize
        var backlog = empty(limit: size * 3)
        let fits = backlog.admit([entry(1), entry(2)], roomReserved: false, now: 1_000)
        #expect(fits.seqs == [1, 2])
        let refused = backlog.admit([entry(3), entry(4)], roomReserved: false, now: 1_000)
        #expect(refused == .refused(limit: size * 3))
        #expect(backlog.lastSeq == 2)
        #expect(backlog.bytes == size * 2)
        // The refused keys were not remembered: the same messages go in once there is room.
        backlog.durable(through: 2)
        backlog.acknowledge(1)
        let retried = backlog.admit([entry(3), entry(4)], roomReserved: false, now: 1_000)
        #expect(retried.seqs == [3, 4])
        // Only duplicates: nothing to fit, so a full backlog still answers them.
        let duplicate = backlog.admit([entry(4)], roomReserved: false, now: 1_000)
        #expect(duplicate.receipt == AppendReceipt(appended: 0, duplicates: 1))
    }

    @Test func reservationsHoldRoomUntilReleasedOrUsed() {
        let size = entry(1).recordSize
        var backlog = empty(limit: size * 4)
        let reserved = backlog.reserve(size * 3)
        let overReserved = backlog.reserve(size * 2)
        #expect(reserved && !overReserved)
        #expect(backlog.reservedBytes == size * 3)
        // Unreserved appends see the reserved room as taken.
        let unreserved = backlog.admit([entry(1), entry(2)], roomReserved: false, now: 1_000)
        #expect(unreserved == .refused(limit: size * 4))
        // The reserving append releases its room and is not refused.
        backlog.release(size * 3)
        let reserving = backlog.admit([entry(1), entry(2), entry(3)], roomReserved: true, now: 1_000)
        #expect(reserving.seqs == [1, 2, 3])
        #expect(backlog.reservedBytes == 0)
        #expect(backlog.bytes == size * 3)
        let last = backlog.reserve(size)
        let beyond = backlog.reserve(1)
        #expect(last && !beyond)
        backlog.release(size)
        #expect(backlog.reservedBytes == 0)
    }

    @Test func outlandishReservationsAreRefusedOrIgnored() {
        var backlog = empty(limit: 100)
        let huge = backlog.reserve(Int.max)
        let negative = backlog.reserve(-5)
        let fair = backlog.reserve(40)
        #expect(!huge && !negative && fair)
        backlog.release(Int.max)
        #expect(backlog.reservedBytes == 0)
        backlog.release(-7)
        #expect(backlog.reservedBytes == 0)
    }

    @Test func onlyDurableRecordsAreRead() {
        var backlog = empty()
        _ = backlog.admit((1...5).map { entry($0) }, roomReserved: false, now: 1_000)
        #expect(backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20).isEmpty)
        backlog.durable(through: 3)
        #expect(backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20).map(\.seq) == [1, 2, 3])
        // A writer never reports more than was admitted, nor goes back.
        backlog.durable(through: 99)
        #expect(backlog.durableSeq == 5)
        backlog.durable(through: 2)
        #expect(backlog.durableSeq == 5)
    }

    @Test func readsFromTheMiddleRespectCountAndBytes() {
        var backlog = empty()
        _ = backlog.admit((1...10).map { entry($0) }, roomReserved: false, now: 1_000)
        backlog.durable(through: 10)
        backlog.acknowledge(3)
        let middle = backlog.records(from: 6, maxCount: 3, maxBytes: 1 << 20)
        #expect(middle.map(\.seq) == [6, 7, 8])
        #expect(middle.map(\.envelope) == [entry(6).envelope, entry(7).envelope, entry(8).envelope])
        // From an acknowledged seq: from the first unacknowledged one.
        #expect(backlog.records(from: 1, maxCount: 2, maxBytes: 1 << 20).map(\.seq) == [4, 5])
        // The byte budget stops after the record that reaches it.
        let envelope = entry(1).envelope.count
        #expect(backlog.records(from: 4, maxCount: 10, maxBytes: envelope + 1).map(\.seq) == [4, 5])
        #expect(backlog.records(from: 11, maxCount: 10, maxBytes: 1 << 20).isEmpty)
    }

    @Test func acknowledgeFreesRoomAndIsClampedToDurable() {
        var backlog = empty()
        _ = backlog.admit((1...6).map { entry($0) }, roomReserved: false, now: 1_000)
        backlog.durable(through: 4)
        backlog.acknowledge(100)
        #expect(backlog.ackedSeq == 4)
        #expect(backlog.count == 2)
        #expect(backlog.bytes == entry(5).recordSize + entry(6).recordSize)
        // Cumulative: an older ack changes nothing.
        backlog.acknowledge(2)
        #expect(backlog.ackedSeq == 4)
        backlog.durable(through: 6)
        backlog.acknowledge(6)
        #expect(backlog.count == 0)
        #expect(backlog.bytes == 0)
        #expect(backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20).isEmpty)
    }

    @Test func resumedBacklogHoldsTheUnacknowledgedRecords() {
        let records = (8...10).map {
            JournalRecord(seq: UInt64($0), at: 1_000, key: entry($0).key, envelope: entry($0).envelope)
        }
        var recent = RecentIDIndex(capacity: 100)
        for n in 1...10 { recent.insert(entry(n).key) }
        var backlog = JournalBacklog(limit: 1 << 20, nextSeq: 11, acked: 7, unacknowledged: records, recent: recent)
        #expect(backlog.durableSeq == 10)
        #expect(backlog.bytes == records.reduce(0) { $0 + $1.encodedSize })
        #expect(backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20).map(\.seq) == [8, 9, 10])
        let admission = backlog.admit([entry(2), entry(11)], roomReserved: false, now: 1_000)
        #expect(admission.receipt == AppendReceipt(appended: 1, duplicates: 1))
        #expect(backlog.lastSeq == 11)
    }
}

extension JournalBacklog.Admission {
    var receipt: AppendReceipt? {
        guard case .admitted(_, let receipt) = self else { return nil }
        return receipt
    }

    var seqs: [UInt64] {
        guard case .admitted(let records, _) = self else { return [] }
        return records.map(\.seq)
    }
}
