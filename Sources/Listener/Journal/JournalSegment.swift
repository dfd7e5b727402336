import Foundation

/// One segment file of an app journal: `<first seq, 20 digits>.seg`, records back to back.
struct JournalSegment: Sendable, Equatable {
    var firstSeq: UInt64
    var path: String
    /// Seq of the last record, or `firstSeq - 1` when the segment is empty.
    var lastSeq: UInt64
    var size: Int
    /// Accept time (unix ms) of its newest record, which decides when `journal_retain` lets it go;
    /// for records of format 1 (no accept time) the file's modification time, which is later.
    var newestAt: Int64 = 0

    static let suffix = ".seg"

    static func fileName(firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// Segment files of `directory`, ordered by first seq.
    static func list(in directory: String) throws -> [(firstSeq: UInt64, path: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return names.compactMap { name -> (UInt64, String)? in
            guard name.hasSuffix(suffix), let first = UInt64(name.dropLast(suffix.count)) else { return nil }
            return (first, directory + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    struct ScanResult {
        var records: [JournalRecord]
        /// Bytes of whole, valid records from the start of the file.
        var validBytes: Int
        var fileBytes: Int
        /// Why the scan stopped before the end of the file, if it did.
        var problem: String?
        /// The file's modification time (unix ms).
        var modifiedAt: Int64 = 0
    }

    /// Reads every valid record; stops at the first torn, corrupt or out-of-sequence record.
    static func scan(path: String, firstSeq: UInt64) throws -> ScanResult {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var info = stat()
        let modifiedAt =
            stat(path, &info) == 0 ? Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec / 1_000_000) : 0
        return data.withUnsafeBytes { bytes in
            var records: [JournalRecord] = []
            var offset = 0
            var expected = firstSeq
            var problem: String?
            while offset < bytes.count {
                switch JournalRecord.decode(bytes, at: offset) {
                case .record(let record, let size):
                    guard record.seq == expected else {
                        problem = "seq \(record.seq) where \(expected) was expected"
                        break
                    }
                    records.append(record)
                    offset += size
                    expected += 1
                    continue
                case .incomplete:
                    problem = "torn record at the end"
                case .corrupt(let reason):
                    problem = reason
                }
                break
            }
            return ScanResult(
                records: records, validBytes: offset, fileBytes: bytes.count, problem: problem, modifiedAt: modifiedAt)
        }
    }

    /// The records of `path` with seq in `range`, in order: a rewind reading back acknowledged
    /// records for a worker whose Redis lost them. Stops at the first record that does not read.
    static func read(path: String, firstSeq: UInt64, range: ClosedRange<UInt64>) throws -> [JournalRecord] {
        let scanned = try scan(path: path, firstSeq: firstSeq)
        return scanned.records.filter { range.contains($0.seq) }
    }
}
