import Foundation
import Logging
import TestSupport
import Testing

@testable import Listener

/// The file journal's own behaviour (its files); what every backend does (dedupe across restarts,
/// the backlog limit, holds) is in `JournalProtocolTests`, run against each.
@Suite struct JournalTests {
    let directory: String

    init() throws {
        directory = try TempDirectory.make(prefix: "journal").path + "/shop"
    }

    func open(_ options: FileJournal.Options = .init(fsync: .batch, maxBacklogBytes: 1 << 30)) throws -> FileJournal {
        try FileJournal.open(app: "shop", directory: directory, options: options, logger: Logger(label: "test"))
    }

    func entry(_ n: Int, padding: Int = 0) -> JournalEntry {
        let body =
            "{\"id\":\"m-\(n)\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}\(String(repeating: " ", count: padding))}"
        return JournalEntry(key: JournalRecord.key(source: "admin", id: "m-\(n)"), envelope: Array(body.utf8))
    }

    func segmentFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
    }

    @Test func recordRoundTripAndChecksum() {
        var bytes: [UInt8] = []
        let record = JournalRecord(
            seq: 7, at: 1_795_948_383_508, key: "admin\u{1F}x", envelope: Array("{\"a\":1}".utf8))
        record.encode(into: &bytes)
        #expect(bytes.count == record.encodedSize)
        #expect(bytes.withUnsafeBytes { JournalRecord.decode($0, at: 0) } == .record(record, size: bytes.count))
        bytes[bytes.count - 2] ^= 0xFF
        #expect(bytes.withUnsafeBytes { JournalRecord.decode($0, at: 0) } == .corrupt("checksum mismatch"))
        #expect(Array(bytes.prefix(10)).withUnsafeBytes { JournalRecord.decode($0, at: 0) } == .incomplete)
        // Known CRC-32C check value.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func appendReopenKeepsEpochSeqAndRecords() async throws {
        let journal = try open()
        let epoch = journal.epoch
        #expect(
            try await journal.append((1...100).map { entry($0) }).get() == AppendReceipt(appended: 100, duplicates: 0))
        #expect(try await journal.append([entry(101)]).get().appended == 1)
        #expect(journal.snapshot().durableSeq == 101)
        journal.close()

        let reopened = try open()
        defer { reopened.close() }
        #expect(reopened.epoch == epoch)
        let snapshot = reopened.snapshot()
        #expect(snapshot.lastSeq == 101)
        #expect(snapshot.backlogMessages == 101)
        let records = reopened.records(from: 1, maxCount: 1000, maxBytes: 1 << 20)
        #expect(records.map(\.seq) == Array(1...101))
        #expect(String(decoding: records[41].envelope, as: UTF8.self).contains("\"m-42\""))
        #expect(try await reopened.append([entry(102)]).get().appended == 1)
        #expect(reopened.snapshot().lastSeq == 102)
    }

    @Test func tornTailIsCutAtOpen() async throws {
        let journal = try open()
        _ = try await journal.append((1...10).map { entry($0) }).get()
        journal.close()
        let segment = directory + "/" + (try segmentFiles().last!)
        let size = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
        #expect(truncate(segment, off_t(size - 5)) == 0)

        let reopened = try open()
        defer { reopened.close() }
        #expect(reopened.snapshot().lastSeq == 9)
        #expect(try await reopened.append([entry(10)]).get().appended == 1)
        #expect(reopened.snapshot().lastSeq == 10)
    }

    @Test func checksumMismatchCutsTheRecordAndWhatFollows() async throws {
        let journal = try open()
        _ = try await journal.append((1...10).map { entry($0) }).get()
        journal.close()
        let segment = directory + "/" + (try segmentFiles().last!)
        var data = try Data(contentsOf: URL(fileURLWithPath: segment))
        let recordSize = data.count / 10
        data[recordSize * 8 + 30] ^= 0x55  // inside record 9
        try data.write(to: URL(fileURLWithPath: segment))

        let reopened = try open()
        defer { reopened.close() }
        #expect(reopened.snapshot().lastSeq == 8)
        #expect(try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int == recordSize * 8)
    }

    @Test func acknowledgedSegmentsAreDeletedAndAckPersisted() async throws {
        var options = FileJournal.Options(fsync: .batch, maxBacklogBytes: 1 << 30)
        options.segmentBytes = 2048
        // No retention: acknowledged segments go at once (retention has tests of its own).
        options.retention = JournalRetention(retainMs: 0, maxBytes: 0)
        let journal = try open(options)
        for n in 1...200 { _ = try await journal.append([entry(n)]).get() }
        let before = try segmentFiles().count
        #expect(before > 3)
        journal.acknowledge(150)
        #expect(journal.snapshot().backlogMessages == 50)
        journal.close()
        let after = try segmentFiles()
        #expect(after.count < before)
        #expect(UInt64(after.first!.dropLast(4))! <= 151)

        let reopened = try open(options)
        defer { reopened.close() }
        let snapshot = reopened.snapshot()
        #expect(snapshot.ackedSeq == 150)
        #expect(snapshot.lastSeq == 200)
        #expect(snapshot.backlogMessages == 50)
        #expect(reopened.records(from: 1, maxCount: 10, maxBytes: 1 << 20).first?.seq == 151)
    }

    @Test func everythingAcknowledgedKeepsSeqGrowing() async throws {
        var options = FileJournal.Options(fsync: .none, maxBacklogBytes: 1 << 30)
        options.segmentBytes = 512
        let journal = try open(options)
        for n in 1...30 { _ = try await journal.append([entry(n)]).get() }
        journal.acknowledge(30)
        journal.close()
        let reopened = try open(options)
        defer { reopened.close() }
        #expect(try await reopened.append([entry(31)]).get().appended == 1)
        #expect(reopened.snapshot().lastSeq == 31)
        #expect(reopened.records(from: 1, maxCount: 10, maxBytes: 1 << 20).map(\.seq) == [31])
    }

    @Test func recentIDIndexForgetsOldestFirst() {
        var index = RecentIDIndex(capacity: 3)
        let first = index.insert("a")
        let second = index.insert("a")
        #expect(first && !second)
        index.insert("b")
        index.insert("c")
        index.insert("d")
        #expect(!index.contains("a"))
        #expect(index.contains("b") && index.contains("d"))
        #expect(index.count == 3)
    }

    /// `top -H` and `perf` tell the journal's writer thread by its name.
    @Test func theWriterThreadIsNamedAfterTheApp() throws {
        let journal = try open()
        defer { journal.close() }
        // The thread names itself as it starts.
        let deadline = Date().addingTimeInterval(5)
        while !ThreadNames.all().contains("journal-shop") && Date() < deadline { usleep(10_000) }
        #expect(ThreadNames.all().contains("journal-shop"), "\(ThreadNames.all())")
    }
}
