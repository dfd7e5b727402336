import Foundation
import Logging
import TestSupport
import Testing

@testable import Listener

/// A journal whose meta.json is missing or does not fit its segments is refused at open, naming
/// the file and the way out (`--recover-journal`), instead of starting a new epoch over old records
/// (DESIGN section 10); the recovery rebuilds meta.json from the segments.
@Suite struct JournalIntegrityTests {
    let directory: String

    init() throws {
        directory = try TempDirectory.make(prefix: "journal-integrity").path + "/shop"
    }

    var metaPath: String { directory + "/meta.json" }

    func open() throws -> FileJournal {
        try FileJournal.open(
            app: "shop", directory: directory, options: .init(fsync: .batch, maxBacklogBytes: 1 << 30),
            logger: Logger(label: "test"))
    }

    func entry(_ n: Int) -> JournalEntry {
        JournalEntry(key: "admin\u{1F}m-\(n)", envelope: Array("{\"id\":\"m-\(n)\"}".utf8))
    }

    /// A journal with records 1…`count`, the first `acked` acknowledged, closed.
    func makeJournal(count: Int, acked: UInt64) async throws -> String {
        let journal = try open()
        _ = try await journal.append((1...count).map(entry)).get()
        journal.acknowledge(acked)
        journal.close()
        return journal.epoch
    }

    func writeMeta(_ text: String) throws {
        try text.write(toFile: metaPath, atomically: true, encoding: .utf8)
    }

    func openError() -> String {
        do {
            let journal = try open()
            journal.close()
            return "opened"
        } catch {
            return "\(error)"
        }
    }

    @Test func missingMetaWithSegmentsIsRefused() async throws {
        _ = try await makeJournal(count: 5, acked: 0)
        try FileManager.default.removeItem(atPath: metaPath)
        let error = openError()
        #expect(error.contains("\(metaPath) is missing but the journal has 1 segment file(s)"), "\(error)")
        #expect(error.contains("--recover-journal shop --epoch"), "\(error)")
        // Nothing was created or changed.
        #expect(!FileManager.default.fileExists(atPath: metaPath))
    }

    @Test func malformedMetaIsRefused() async throws {
        let epoch = try await makeJournal(count: 5, acked: 0)
        try writeMeta("{\"epoch\":\"\(epoch)\",")
        #expect(openError().contains("\(metaPath): not a journal meta file"))
        try writeMeta("{\"epoch\":\"not-hex\",\"acked\":0,\"format\":2}")
        #expect(openError().contains("\(metaPath): epoch 'not-hex' is not 32 hex digits"))
        try writeMeta("{\"epoch\":\"\(epoch.uppercased())\",\"acked\":0,\"format\":2}")
        #expect(openError().contains("is not 32 hex digits"))
        try writeMeta("{\"epoch\":\"\(epoch)\",\"acked\":0,\"format\":3}")
        #expect(openError().contains("\(metaPath): journal format 3 is unknown to this release"))
        // Format 1 (the first release wrote none, but say it) is fine.
        try writeMeta("{\"epoch\":\"\(epoch)\",\"acked\":0,\"format\":1}")
        #expect(openError() == "opened")
    }

    /// 40 records in 256-byte segments, 30 acknowledged, nothing retained: the oldest segments
    /// are gone. Returns the epoch and the oldest seq left on disk.
    func trimmedJournal() async throws -> (epoch: String, first: UInt64) {
        var options = FileJournal.Options(fsync: .batch, maxBacklogBytes: 1 << 30)
        options.segmentBytes = 256
        options.retention = JournalRetention(retainMs: 0, maxBytes: 0)
        let journal = try FileJournal.open(
            app: "shop", directory: directory, options: options, logger: Logger(label: "t"))
        for n in 1...40 { _ = try await journal.append([entry(n)]).get() }
        journal.acknowledge(30)
        journal.close()
        return (journal.epoch, try JournalSegment.list(in: directory).first!.firstSeq)
    }

    @Test func ackBeforeTheOldestRecordIsRefused() async throws {
        let (epoch, first) = try await trimmedJournal()
        #expect(first > 1 && first <= 31)
        // meta.json from another time: acked far below the oldest record.
        try writeMeta("{\"epoch\":\"\(epoch)\",\"acked\":0,\"format\":2}")
        let error = openError()
        #expect(
            error.contains(
                "\(metaPath): acked 0 but the oldest record is seq \(first): unacknowledged records 1...\(first - 1) are missing"
            ),
            "\(error)")
        #expect(error.contains("--recover-journal"))
    }

    @Test func recoveryWithTheAppliedEpochLetsTheHelloDecide() async throws {
        let (epoch, first) = try await trimmedJournal()
        try FileManager.default.removeItem(atPath: metaPath)

        let result = try JournalMetaRecovery.rebuild(directory: directory, app: "shop", epoch: epoch)
        #expect(result == .init(epoch: epoch, acked: first - 1, retained: first...40, replaced: nil))
        let reopened = try open()
        defer { reopened.close() }
        #expect(reopened.epoch == epoch)
        #expect(reopened.records(from: 1, maxCount: 100, maxBytes: 1 << 20).map(\.seq) == Array(first...40))
        // Appending continues the epoch's seqs.
        #expect(try await reopened.append([entry(41)]).get().appended == 1)
        #expect(reopened.snapshot().lastSeq == 41)
    }

    @Test func recoveryWithANewEpochDeliversEveryRetainedRecordAgain() async throws {
        let old = try await makeJournal(count: 5, acked: 5)
        try writeMeta("{\"epoch\":\"garbage\"}")
        let result = try JournalMetaRecovery.rebuild(directory: directory, app: "shop", epoch: "new")
        #expect(result.epoch != old && JournalMeta.isEpoch(result.epoch))
        #expect(result.acked == 0 && result.retained == 1...5)
        #expect(result.replaced.map { FileManager.default.fileExists(atPath: $0) } == true)
        let reopened = try open()
        defer { reopened.close() }
        #expect(reopened.epoch == result.epoch)
        #expect(reopened.records(from: 1, maxCount: 100, maxBytes: 1 << 20).map(\.seq) == Array(1...5))
        let text = JournalMetaRecovery.describe(result, app: "shop", directory: directory, newEpoch: true)
        #expect(text.contains("effects of messages the worker had already applied may repeat"))
    }

    @Test func recoveryRefusesABadEpochAndAMissingJournal() throws {
        #expect(throws: JournalOpenError.self) {
            try JournalMetaRecovery.rebuild(directory: directory + "-none", app: "shop", epoch: "new")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(throws: JournalOpenError.self) {
            try JournalMetaRecovery.rebuild(directory: directory, app: "shop", epoch: "0123")
        }
        #expect(!FileManager.default.fileExists(atPath: metaPath))
    }

    @Test func aSecondLockOnTheSameDirectoryIsRefused() throws {
        let root = try TempDirectory.make(prefix: "journal-lock").path
        let first = try JournalDirectoryLock(journalDir: root)
        #expect(throws: JournalDirectoryLock.Held.self) { try JournalDirectoryLock(journalDir: root) }
        let holder = try String(contentsOfFile: root + "/.lock", encoding: .utf8)
        #expect(holder == "\(getpid())\n")
        withExtendedLifetime(first) {}
    }
}
