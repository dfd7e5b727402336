import Foundation
import TestSupport
import Testing

@testable import Listener

/// What forwarding, replay and idempotency rely on, checked against both backends: they must not
/// care which journal they have.
@Suite(.startsProcesses) struct JournalProtocolTests {
    @Test(arguments: JournalBackend.allCases)
    func appendForwardAcknowledge(_ backend: JournalBackend) async throws {
        let site = try JournalSite(backend)
        let journal = try await site.open()
        #expect(
            try await journal.append((1...5).map { journalEntry($0) }).get()
                == AppendReceipt(appended: 5, duplicates: 0))
        let records = journal.forwardable()
        #expect(records.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(records[2].envelope == journalEntry(3).envelope)
        #expect(records.allSatisfy { $0.at != nil && !$0.voided })
        #expect(journal.records(from: 4, maxCount: 10, maxBytes: 1 << 20).map(\.seq) == [4, 5])
        #expect(journal.records(from: 1, maxCount: 2, maxBytes: 1 << 20).map(\.seq) == [1, 2])
        journal.acknowledge(3)
        #expect(journal.ackedSeqNow == 3)
        #expect(journal.forwardable().map(\.seq) == [4, 5])
        let snapshot = journal.snapshot()
        #expect(snapshot.lastSeq == 5 && snapshot.durableSeq == 5 && snapshot.ackedSeq == 3)
        #expect(snapshot.backlogMessages == 2 && snapshot.appendedTotal == 5)
        await site.close(journal)
        #expect(await journal.append([journalEntry(6)]) == .failure(.closed))
    }

    @Test(arguments: JournalBackend.allCases)
    func reopeningKeepsEpochSeqAcknowledgementAndKeys(_ backend: JournalBackend) async throws {
        let site = try JournalSite(backend)
        let journal = try await site.open()
        let epoch = journal.epoch
        #expect(
            try await journal.append([journalEntry(1), journalEntry(2), journalEntry(1)]).get()
                == AppendReceipt(appended: 2, duplicates: 1))
        #expect(try await journal.append([journalEntry(3)]).get().appended == 1)
        journal.acknowledge(1)
        await site.close(journal)

        let reopened = try await site.open()
        #expect(reopened.epoch == epoch)
        #expect(reopened.ackedSeqNow == 1)
        #expect(reopened.forwardable().map(\.seq) == [2, 3])
        #expect(
            try await reopened.append([journalEntry(1), journalEntry(3), journalEntry(4)]).get()
                == AppendReceipt(appended: 1, duplicates: 2))
        #expect(reopened.snapshot().lastSeq == 4)
        await site.close(reopened)
    }

    @Test(arguments: JournalBackend.allCases)
    func backlogLimitRefusesAllOrNothingUntilAcknowledged(_ backend: JournalBackend) async throws {
        let site = try JournalSite(backend)
        let size = journalEntry(1).recordSize
        let journal = try await site.open(JournalSite.options(maxBacklogBytes: size * 5))
        #expect(try await journal.append((1...4).map { journalEntry($0) }).get().appended == 4)
        #expect(await journal.append([journalEntry(5), journalEntry(6)]) == .failure(.backlogFull(limit: size * 5)))
        #expect(journal.snapshot().lastSeq == 4)
        // Duplicates take no room: a retry of journaled messages is answered even when full.
        #expect(try await journal.append([journalEntry(1), journalEntry(5)]).get().appended == 1)
        journal.acknowledge(2)
        #expect(try await journal.append([journalEntry(6), journalEntry(7)]).get().appended == 2)
        guard case .failure(.backlogFull) = journal.reserve(size * 2) else {
            Issue.record("reserve past the limit must fail")
            return
        }
        await site.close(journal)
    }

    @Test(arguments: JournalBackend.allCases)
    func heldPartsWaitVoidedPartsAreGapsAndGiveTheirKeysBack(_ backend: JournalBackend) async throws {
        let site = try JournalSite(backend)
        let journal = try await site.open()
        _ = try await journal.append([journalEntry(1)]).get()
        let part = try await journal.append([journalEntry(2), journalEntry(3), journalEntry(1)], held: true).get()
        #expect(part == AppendReceipt(appended: 2, duplicates: 1, held: 2...3))
        _ = try await journal.append([journalEntry(4)]).get()
        #expect(journal.forwardable().map(\.seq) == [1])
        // An ack cannot pass what was forwardable.
        journal.acknowledge(4)
        #expect(journal.ackedSeqNow == 1)
        #expect(await journal.void(2...3))
        let forwarded = journal.forwardable()
        #expect(forwarded.map(\.seq) == [2, 3, 4] && forwarded.map(\.voided) == [true, true, false])

        let second = try await journal.append([journalEntry(5)], held: true).get()
        #expect(second.held == 5...5)
        #expect(journal.forwardable().map(\.seq) == [2, 3, 4])
        journal.releaseHold(5...5)
        #expect(journal.forwardable().map(\.seq) == [2, 3, 4, 5])
        await site.close(journal)

        let reopened = try await site.open()
        #expect(reopened.forwardable().map(\.voided) == [true, true, false, false])
        // The duplicate in the voided part (m-1) was not given back; m-2 and m-3 were.
        #expect(
            try await reopened.append([journalEntry(1), journalEntry(2), journalEntry(3)]).get()
                == AppendReceipt(appended: 2, duplicates: 1))
        #expect(reopened.snapshot().lastSeq == 7)
        await site.close(reopened)
    }

    @Test(arguments: JournalBackend.allCases)
    func rewindReplaysRetainedRecordsAndReportsTrimmedOnesAsAGap(_ backend: JournalBackend) async throws {
        let site = try JournalSite(backend)
        var options = JournalSite.options()
        options.segmentBytes = 512
        options.retention = JournalRetention(retainMs: 0, maxBytes: 0)
        let journal = try await site.open(options)
        for n in 1...30 { _ = try await journal.append([journalEntry(n)]).get() }
        journal.acknowledge(20)
        #expect(await becomesTrue { journal.snapshot().oldestRetainedSeq > 1 })
        let oldest = journal.snapshot().oldestRetainedSeq
        #expect(oldest <= 21)
        let outcome = await journal.rewind(to: 0)
        #expect(outcome.gap == 1...(oldest - 1))
        #expect(outcome.acked == oldest - 1)
        #expect(journal.forwardable().map(\.seq) == Array(oldest...30))
        #expect(journal.snapshot().skippedTotal == oldest - 1)
        // A trimmed record's key is still among the newest `recentIDs`: its retry is a duplicate.
        #expect(try await journal.append([journalEntry(1)]).get() == AppendReceipt(appended: 0, duplicates: 1))
        await site.close(journal)
    }

    @Test(arguments: JournalBackend.allCases)
    func rewindWithinRetentionReplaysEverything(_ backend: JournalBackend) async throws {
        let site = try JournalSite(backend)
        let journal = try await site.open()
        for n in 1...10 { _ = try await journal.append([journalEntry(n)]).get() }
        journal.acknowledge(10)
        #expect(journal.forwardable().isEmpty)
        let outcome = await journal.rewind(to: 4)
        #expect(outcome == RewindOutcome(acked: 4, gap: nil))
        let replayed = journal.forwardable()
        #expect(replayed.map(\.seq) == Array(5...10))
        #expect(replayed.first?.envelope == journalEntry(5).envelope)
        // The lowered acknowledgement is what a restart resumes from.
        await site.close(journal)
        let reopened = try await site.open()
        #expect(reopened.ackedSeqNow == 4)
        await site.close(reopened)
    }
}
