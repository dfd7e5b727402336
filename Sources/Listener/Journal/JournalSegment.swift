import Foundation

/// One segment file of an app journal: `<first seq, 20 digits>.seg`, records back to back.
struct JournalSegment: Sendable, Equatable {
    var firstSeq: UInt64
    var path: String
    /// Seq of the last record, or `firstSeq - 1` when the segment is empty.
    var lastSeq: UInt64
    var size: Int

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
    }

    /// Reads every valid record; stops at the first torn, corrupt or out-of-sequence record.
    static func scan(path: String, firstSeq: UInt64) throws -> ScanResult {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
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
            return ScanResult(records: records, validBytes: offset, fileBytes: bytes.count, problem: problem)
        }
    }
}
