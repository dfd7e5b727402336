import Testing

@testable import Listener

@Suite struct SegmentRecoveryTests {
    func record(_ seq: UInt64) -> JournalRecord {
        JournalRecord(
            seq: seq, at: 1_000, key: JournalRecord.key(source: "admin", id: "m-\(seq)"),
            envelope: Array("{\"n\":\(seq)}".utf8))
    }

    /// A scan of a segment holding `seqs`, with `tail` more bytes that did not form a record.
    func scan(_ seqs: ClosedRange<UInt64>?, tail: Int = 0, problem: String? = nil) -> JournalSegment.ScanResult {
        let records = seqs.map { $0.map(record) } ?? []
        let valid = records.reduce(0) { $0 + $1.encodedSize }
        return JournalSegment.ScanResult(records: records, validBytes: valid, fileBytes: valid + tail, problem: problem)
    }

    func path(_ first: UInt64) -> String { "/j/" + JournalSegment.fileName(firstSeq: first) }

    func recover(acked: UInt64, _ scans: [(UInt64, JournalSegment.ScanResult)]) throws -> (
        actions: [SegmentRecovery.Action], outcome: SegmentRecovery.Outcome
    ) {
        var recovery = SegmentRecovery(acked: acked, recentIDs: 100)
        var actions: [SegmentRecovery.Action] = []
        for (index, (first, scan)) in scans.enumerated() {
            actions.append(
                try recovery.add(path: path(first), firstSeq: first, scan: scan, isLast: index == scans.count - 1))
        }
        return (actions, try recovery.finish())
    }

    @Test func newJournalStartsAtOne() throws {
        let (actions, outcome) = try recover(acked: 0, [])
        #expect(actions.isEmpty)
        #expect(outcome.nextSeq == 1)
        #expect(outcome.acked == 0)
        #expect(outcome.segments.isEmpty)
        #expect(outcome.unacknowledged.isEmpty)
        #expect(outcome.misnamedEmptySegment == nil)
    }

    @Test func resumesAfterTheLastRecordWithTheUnacknowledgedOnes() throws {
        let (actions, outcome) = try recover(acked: 15, [(1, scan(1...10)), (11, scan(11...20))])
        #expect(actions == [.keep, .keep])
        #expect(outcome.nextSeq == 21)
        #expect(outcome.acked == 15)
        #expect(outcome.unacknowledged.map(\.seq) == Array(16...20))
        #expect(outcome.segments.map(\.firstSeq) == [1, 11])
        #expect(outcome.segments.map(\.lastSeq) == [10, 20])
        #expect(outcome.segments[1].size == scan(11...20).validBytes)
        // Every retained key is known again, acknowledged or not.
        #expect(outcome.recent.contains(record(1).key) && outcome.recent.contains(record(20).key))
        #expect(outcome.recent.count == 20)
    }

    @Test func tornTailOfTheLastSegmentIsCut() throws {
        let torn = scan(11...14, tail: 9, problem: "torn record at the end")
        let (actions, outcome) = try recover(acked: 0, [(1, scan(1...10)), (11, torn)])
        #expect(
            actions == [.keep, .cutTail(reason: "torn record at the end", keptBytes: torn.validBytes, cutBytes: 9)])
        #expect(outcome.nextSeq == 15)
        #expect(outcome.segments.last?.size == torn.validBytes)
    }

    @Test func problemInAClosedSegmentRefusesToStart() throws {
        let corrupt = scan(1...4, tail: 30, problem: "checksum mismatch")
        let error = #expect(throws: JournalOpenError.self) {
            try recover(acked: 0, [(1, corrupt), (11, scan(11...20))])
        }
        #expect(
            error?.message
                == "\(path(1)): checksum mismatch at byte \(corrupt.validBytes) of a closed segment; the journal needs repair"
        )
    }

    @Test func gapBetweenSegmentsRefusesToStart() throws {
        let error = #expect(throws: JournalOpenError.self) {
            try recover(acked: 0, [(1, scan(1...10)), (12, scan(12...20))])
        }
        #expect(error?.message == "\(path(12)): starts at seq 12 after 10; the journal needs repair")
    }

    @Test func ackBeyondTheLastRecordIsClamped() throws {
        let (_, outcome) = try recover(acked: 500, [(1, scan(1...10))])
        #expect(outcome.acked == 10)
        #expect(outcome.nextSeq == 11)
        #expect(outcome.unacknowledged.isEmpty)
    }

    @Test func everythingAcknowledgedAndDeletedResumesAfterTheAck() throws {
        // Only the empty active segment is left, named for the seq that comes next.
        let (_, outcome) = try recover(acked: 30, [(31, scan(nil))])
        #expect(outcome.nextSeq == 31)
        #expect(outcome.acked == 30)
        #expect(outcome.segments.map(\.firstSeq) == [31])
        #expect(outcome.segments[0].lastSeq == 30)
        #expect(outcome.misnamedEmptySegment == nil)
    }

    @Test func emptyLastSegmentNamedForAnotherSeqIsDropped() throws {
        // Its only bytes were a torn tail and its name is not the seq that comes next: the active
        // segment must be named by the seq its first record will carry.
        let (actions, outcome) = try recover(
            acked: 0, [(1, scan(1...10)), (12, scan(nil, tail: 7, problem: "torn record at the end"))])
        #expect(actions.last == .cutTail(reason: "torn record at the end", keptBytes: 0, cutBytes: 7))
        #expect(outcome.nextSeq == 11)
        #expect(outcome.misnamedEmptySegment?.firstSeq == 12)
        #expect(outcome.segments.map(\.firstSeq) == [1])
    }

    @Test func segmentNamedSeqZeroIsRefusedNotTrapped() throws {
        #expect(throws: JournalOpenError.self) {
            try recover(acked: 0, [(0, scan(nil, tail: 20, problem: "seq 1 where 0 was expected"))])
        }
    }
}
