import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Listener

/// Journal format 2 (accept times in records) and journals written by the first release
/// (format 1, no accept time), alone or mixed with format 2 in one directory (docs/journal.md).
@Suite struct JournalFormatTests {
    let directory: String

    init() throws {
        directory = try TempDirectory.make(prefix: "journal-format").path + "/shop"
    }

    static let epoch = "0123456789abcdef0123456789abcdef"

    func envelope(_ n: Int) -> String {
        "{\"id\":\"m-\(n)\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}"
    }

    func entry(_ n: Int) -> JournalEntry {
        JournalEntry(key: JournalRecord.key(source: "admin", id: "m-\(n)"), envelope: Array(envelope(n).utf8))
    }

    func open(clock: @escaping @Sendable () -> Int64 = { 1_795_948_383_508 }) throws -> FileJournal {
        var options = FileJournal.Options(fsync: .batch, maxBacklogBytes: 1 << 30)
        options.clock = clock
        return try FileJournal.open(app: "shop", directory: directory, options: options, logger: Logger(label: "test"))
    }

    // The first release's layout, written out byte by byte (not with JournalRecord.encode), so a
    // change of the encoder cannot make this test agree with it by accident.
    func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    func format1Record(seq: UInt64, n: Int) -> [UInt8] {
        let key = Array("admin\u{1F}m-\(n)".utf8)
        let body = le(UInt16(key.count)) + key + Array(envelope(n).utf8)
        let crc = CRC32C.checksum(le(seq) + body)
        return le(UInt32(body.count)) + le(crc) + le(seq) + body
    }

    /// A journal as the first release left it: meta.json without `format`, one segment of
    /// format-1 records 1...`count`, the first `acked` acknowledged.
    func writeFormat1Journal(count: Int, acked: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "{\"epoch\":\"\(Self.epoch)\",\"acked\":\(acked)}".write(
            toFile: directory + "/meta.json", atomically: true, encoding: .utf8)
        let bytes = (1...count).flatMap { format1Record(seq: UInt64($0), n: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + JournalSegment.fileName(firstSeq: 1)))
    }

    func meta() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/meta.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    @Test func format2RecordsCarryTheAcceptTimeAndAreFlagged() {
        var bytes: [UInt8] = []
        let record = JournalRecord(seq: 9, at: 1_795_948_383_508, key: "admin\u{1F}x", envelope: Array("{}".utf8))
        record.encode(into: &bytes)
        #expect(bytes.count == record.encodedSize)
        #expect(bytes.count == JournalRecord.encodedSize(keyBytes: 7, envelopeBytes: 2))
        // The length word: bit 31 set, then the body (8 bytes of at, 2 of key length, key, envelope).
        let word = bytes.withUnsafeBytes { JournalRecord.readLE(UInt32.self, $0, 0) }
        #expect(word == JournalRecord.format2Flag | UInt32(8 + 2 + 7 + 2))
        #expect(bytes.withUnsafeBytes { JournalRecord.readLE(Int64.self, $0, 16) } == 1_795_948_383_508)
        #expect(bytes.withUnsafeBytes { JournalRecord.decode($0, at: 0) } == .record(record, size: bytes.count))
    }

    @Test func format1RecordsBuiltByHandAreReadWithoutAcceptTime() {
        let bytes = format1Record(seq: 3, n: 3)
        guard case .record(let record, let size) = bytes.withUnsafeBytes({ JournalRecord.decode($0, at: 0) }) else {
            Issue.record("a format-1 record did not decode")
            return
        }
        #expect(size == bytes.count)
        #expect(record.seq == 3 && record.at == nil)
        #expect(record.key == "admin\u{1F}m-3")
        #expect(record.envelope == Array(envelope(3).utf8))
        #expect(record.encodedSize == bytes.count)
    }

    @Test func acceptTimeOutsideTheFrameRangeIsCorruption() {
        var bytes: [UInt8] = []
        JournalRecord(seq: 1, at: -5, key: "k", envelope: Array("{}".utf8)).encode(into: &bytes)
        #expect(bytes.withUnsafeBytes { JournalRecord.decode($0, at: 0) } == .corrupt("accept time -5 out of range"))
    }

    @Test func stampsComeFromTheClockAndNeverGoBack() async throws {
        let now = Atomic<Int64>(2_000)
        let journal = try open(clock: { now.load(ordering: .relaxed) })
        defer { journal.close() }
        _ = try await journal.append([entry(1), entry(2)]).get()
        now.store(1_500, ordering: .relaxed)  // the wall clock stepped back
        _ = try await journal.append([entry(3)]).get()
        now.store(3_000, ordering: .relaxed)
        _ = try await journal.append([entry(4)]).get()
        now.store(-7, ordering: .relaxed)
        _ = try await journal.append([entry(5)]).get()
        let records = journal.records(from: 1, maxCount: 10, maxBytes: 1 << 20)
        #expect(records.map(\.at) == [2_000, 2_000, 2_000, 3_000, 3_000])
    }

    @Test func stampsContinueFromTheNewestOnDiskAfterARestart() async throws {
        let journal = try open(clock: { 5_000 })
        _ = try await journal.append([entry(1)]).get()
        journal.close()
        let reopened = try open(clock: { 4_000 })
        defer { reopened.close() }
        _ = try await reopened.append([entry(2)]).get()
        #expect(reopened.records(from: 1, maxCount: 10, maxBytes: 1 << 20).map(\.at) == [5_000, 5_000])
    }

    @Test func aFirstReleaseJournalIsReadAndForwardedWithoutAcceptTimes() async throws {
        try writeFormat1Journal(count: 5, acked: 2)
        let journal = try open()
        #expect(journal.epoch == Self.epoch)
        // meta.json says format 2 before anything new is written.
        #expect(try meta()["format"] as? Int == 2)
        #expect(try meta()["acked"] as? Int == 2)
        let old = journal.records(from: 1, maxCount: 10, maxBytes: 1 << 20)
        #expect(old.map(\.seq) == [3, 4, 5])
        #expect(old.map(\.at) == [nil, nil, nil])
        #expect(old.map(\.envelope) == [3, 4, 5].map { Array(envelope($0).utf8) })
        // A retried first-release message is still known.
        #expect(try await journal.append([entry(4)]).get() == AppendReceipt(appended: 0, duplicates: 1))
        // New records go into the same (mixed) segment, as format 2.
        #expect(try await journal.append([entry(6), entry(7)]).get().appended == 2)
        journal.close()

        let reopened = try open()
        defer { reopened.close() }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.count == 1)
        let mixed = reopened.records(from: 1, maxCount: 10, maxBytes: 1 << 20)
        #expect(mixed.map(\.seq) == [3, 4, 5, 6, 7])
        #expect(mixed.map(\.at) == [nil, nil, nil, 1_795_948_383_508, 1_795_948_383_508])
        #expect(reopened.snapshot().lastSeq == 7)
    }
}
