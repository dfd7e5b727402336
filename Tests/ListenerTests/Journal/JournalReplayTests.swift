import Foundation
import Logging
import Shared
import TestSupport
import Testing

@testable import Listener

/// Keeping acknowledged records (`journal_retain`, `journal_retain_bytes`) and replaying them to a
/// worker whose Redis lost writes (DESIGN section 10): the pure decisions and the file journal.
@Suite struct JournalReplayTests {
    func segment(_ first: UInt64, _ last: UInt64, newestAt: Int64, size: Int = 100) -> JournalSegment {
        JournalSegment(firstSeq: first, path: "/j/\(first).seg", lastSeq: last, size: size, newestAt: newestAt)
    }

    // MARK: Retention decisions

    @Test func acknowledgedSegmentsStayUntilTheyAreOlderThanRetain() {
        let retention = JournalRetention(retainMs: 60_000, maxBytes: 1 << 30)
        let segments = [
            segment(1, 10, newestAt: 1_000), segment(11, 20, newestAt: 50_000), segment(21, 25, newestAt: 0),
        ]
        // Acknowledged but young: kept.
        #expect(retention.releasable(segments, acked: 25, now: 60_999) == 0)
        // The first is older than retain: it goes; the second is not yet.
        #expect(retention.releasable(segments, acked: 25, now: 61_000) == 1)
        #expect(retention.releasable(segments, acked: 25, now: 110_000) == 2)
        // Never an unacknowledged segment, never the active one, whatever their age.
        #expect(retention.releasable(segments, acked: 15, now: 10_000_000) == 1)
        #expect(retention.releasable(segments, acked: 5, now: 10_000_000) == 0)
    }

    @Test func theByteCapLetsTheOldestGoFirst() {
        let retention = JournalRetention(retainMs: 60_000, maxBytes: 250)
        let segments = [
            segment(1, 10, newestAt: 1_000), segment(11, 20, newestAt: 1_000), segment(21, 30, newestAt: 1_000),
            segment(31, 40, newestAt: 1_000), segment(41, 41, newestAt: 1_000),
        ]
        // Four acknowledged segments of 100 bytes: two must go to get to 250 or less.
        #expect(retention.releasable(segments, acked: 40, now: 2_000) == 2)
        // Only the acknowledged ones count.
        #expect(retention.releasable(segments, acked: 20, now: 2_000) == 0)
    }

    @Test func zeroRetainDeletesOnAcknowledgementAndExtremeClocksDoNotTrap() {
        let segments = [segment(1, 10, newestAt: 5_000), segment(11, 11, newestAt: 5_000)]
        #expect(JournalRetention(retainMs: 0, maxBytes: 1 << 30).releasable(segments, acked: 10, now: 5_000) == 1)
        let long = JournalRetention(retainMs: .max, maxBytes: 1 << 30)
        #expect(long.releasable(segments, acked: 10, now: .min) == 0)
        #expect(long.releasable(segments, acked: 10, now: .max) == 0)
    }

    // MARK: The worker's hello

    @Test func helloDecidesWhereForwardingResumes() {
        let epoch = "0123456789abcdef0123456789abcdef"
        func plan(_ position: WorkerHello.Position?, acked: UInt64 = 100) -> HelloPlan {
            HelloPlan.decide(position, epoch: epoch, acked: acked)
        }
        #expect(plan(.init(epoch: epoch, seq: 100)) == .fromAcked)
        #expect(plan(.init(epoch: epoch, seq: 40)) == .rewind(to: 40))
        #expect(plan(.init(epoch: epoch, seq: 130)) == .acknowledge(130))
        // Redis empty: seq 0 of our epoch.
        #expect(plan(.init(epoch: nil, seq: 0)) == .rewind(to: 0))
        #expect(plan(.init(epoch: nil, seq: 0), acked: 0) == .fromAcked)
        // Another epoch (a new journal): from the acknowledged seq, as before.
        #expect(plan(.init(epoch: "ffffffffffffffffffffffffffffffff", seq: 7)) == .fromAcked)
        // An old worker answered an error line.
        #expect(plan(nil) == .fromAcked)
    }

    @Test func forwardCursorRestartsBelowAnEarlierAck() {
        var cursor = ForwardCursor(acked: 100, window: 10)
        cursor.sent(through: 105)
        cursor.restart(acked: 40)
        #expect(cursor.acked == 40 && cursor.nextToSend == 41 && cursor.inFlight == 0)
    }

    // MARK: Backlog rewind

    func record(_ seq: UInt64) -> JournalRecord {
        JournalRecord(seq: seq, at: 1_000, key: "admin\u{1F}m-\(seq)", envelope: Array("{\"n\":\(seq)}".utf8))
    }

    @Test func backlogRewindPutsAcknowledgedRecordsBackInFront() {
        var backlog = JournalBacklog(
            limit: 1 << 20, nextSeq: 11, acked: 7, unacknowledged: (8...10).map(record),
            recent: RecentIDIndex(capacity: 100))
        let bytes = backlog.bytes
        // Not ending at the acknowledged seq, or not consecutive: refused, nothing changes.
        let notEndingAtAcked = backlog.rewind((4...6).map(record))
        let notConsecutive = backlog.rewind([record(5), record(7)])
        let empty = backlog.rewind([])
        #expect(!notEndingAtAcked && !notConsecutive && !empty)
        #expect(backlog.ackedSeq == 7 && backlog.bytes == bytes)
        let rewound = backlog.rewind((5...7).map(record))
        #expect(rewound)
        #expect(backlog.ackedSeq == 4)
        #expect(backlog.count == 6)
        #expect(backlog.bytes == bytes + (5...7).map(record).reduce(0) { $0 + $1.encodedSize })
        let forwarded = backlog.records(from: 1, maxCount: 10, maxBytes: 1 << 20)
        #expect(forwarded.map(\.seq) == Array(5...10))
        #expect(forwarded.map(\.envelope) == (5...10).map { record($0).envelope })
        backlog.acknowledge(10)
        #expect(backlog.count == 0 && backlog.bytes == 0)
    }

    // MARK: File journal

    func openJournal(_ directory: String, retention: JournalRetention, segmentBytes: Int = 1024) throws
        -> FileJournal
    {
        var options = FileJournal.Options(fsync: .batch, maxBacklogBytes: 1 << 30)
        options.segmentBytes = segmentBytes
        options.retention = retention
        return try FileJournal.open(app: "shop", directory: directory, options: options, logger: Logger(label: "test"))
    }

    func entry(_ n: Int) -> JournalEntry {
        JournalEntry(
            key: "admin\u{1F}m-\(n)",
            envelope: Array("{\"id\":\"m-\(n)\",\"pad\":\"\(String(repeating: "x", count: 40))\"}".utf8))
    }

    func rewind(_ journal: FileJournal, to seq: UInt64) async -> RewindOutcome {
        await withCheckedContinuation { continuation in
            journal.rewind(to: seq) { continuation.resume(returning: $0) }
        }
    }

    func metaAcked(_ directory: String) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/meta.json"))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["acked"] as! Int
    }

    @Test func rewindReadsAcknowledgedRecordsBackFromDisk() async throws {
        let directory = try TempDirectory.make(prefix: "journal-replay").path + "/shop"
        let journal = try openJournal(directory, retention: .standard)
        for n in 1...100 { _ = try await journal.append([entry(n)]).get() }
        journal.acknowledge(100)
        // The ack reaches meta.json; the segments stay (retained).
        #expect(try eventually(timeout: 5) { try metaAcked(directory) == 100 })
        #expect(journal.snapshot().backlogMessages == 0)
        #expect(journal.snapshot().oldestRetainedSeq == 1)

        let outcome = await rewind(journal, to: 40)
        #expect(outcome == RewindOutcome(acked: 40, gap: nil))
        #expect(try metaAcked(directory) == 40)
        let replayed = journal.records(from: 1, maxCount: 1000, maxBytes: 1 << 30)
        #expect(replayed.map(\.seq) == Array(41...100))
        #expect(replayed.first?.envelope == entry(41).envelope)
        #expect(replayed.allSatisfy { $0.at != nil })
        #expect(journal.snapshot().skippedTotal == 0)
        // A second rewind to the same place changes nothing.
        #expect(await rewind(journal, to: 60) == RewindOutcome(acked: 40, gap: nil))
        journal.close()

        // After a restart the lowered ack holds: the records are forwarded again.
        let reopened = try openJournal(directory, retention: .standard)
        defer { reopened.close() }
        #expect(reopened.records(from: 1, maxCount: 1000, maxBytes: 1 << 30).map(\.seq) == Array(41...100))
    }

    @Test func recordsOlderThanRetainAreAGap() async throws {
        let directory = try TempDirectory.make(prefix: "journal-replay").path + "/shop"
        // Keep at most ~2 segments of acknowledged records.
        let journal = try openJournal(directory, retention: JournalRetention(retainMs: 3_600_000, maxBytes: 2048))
        defer { journal.close() }
        for n in 1...100 { _ = try await journal.append([entry(n)]).get() }
        journal.acknowledge(90)
        #expect(eventually(timeout: 5) { journal.snapshot().oldestRetainedSeq > 1 })
        let oldest = journal.snapshot().oldestRetainedSeq
        #expect(oldest <= 91)

        let outcome = await rewind(journal, to: 10)
        #expect(outcome == RewindOutcome(acked: oldest - 1, gap: 11...(oldest - 1)))
        #expect(journal.snapshot().skippedTotal == oldest - 1 - 10)
        #expect(journal.records(from: 1, maxCount: 1000, maxBytes: 1 << 30).map(\.seq) == Array(oldest...100))
        // The same stale hello again (the worker restarted before applying the gap): the same gap
        // line, not counted twice.
        #expect(await rewind(journal, to: 10) == RewindOutcome(acked: oldest - 1, gap: 11...(oldest - 1)))
        #expect(journal.snapshot().skippedTotal == oldest - 1 - 10)
    }
}
