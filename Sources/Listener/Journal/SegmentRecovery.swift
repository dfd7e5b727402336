/// Opening a journal: from the scans of its segment files, oldest first, decides what to cut,
/// which segments to keep, where seq resumes, how far the worker had acknowledged, which records
/// go back into the backlog, and rebuilds the idempotency keys (docs/journal.md, "Opening").
///
/// A value fed one scan at a time (so only one segment's records are in memory besides the
/// unacknowledged ones); the files are read and cut by the caller.
struct SegmentRecovery {
    /// What to do with the file just scanned.
    enum Action: Equatable {
        case keep
        /// A torn or corrupt tail of the last segment: truncate the file to `keptBytes`.
        case cutTail(reason: String, keptBytes: Int, cutBytes: Int)
    }

    /// Where the journal resumes.
    struct Outcome {
        var nextSeq: UInt64
        /// `meta.json`'s acknowledged seq, never beyond the last record kept.
        var acked: UInt64
        var segments: [JournalSegment]
        /// Records after `acked`, oldest first.
        var unacknowledged: [JournalRecord]
        var recent: RecentIDIndex
        /// The newest accept time of any record (0 when none has one): stamps continue from it.
        var lastAt: Int64
        /// An empty last segment named for a seq that will not come next: delete it, so the
        /// active segment is named by the seq its first record will carry.
        var misnamedEmptySegment: JournalSegment?
    }

    private let acked: UInt64
    private var recent: RecentIDIndex
    private var segments: [JournalSegment] = []
    private var unacknowledged: [JournalRecord] = []
    private var lastRecordSeq: UInt64?
    private var firstRecordSeq: UInt64?
    private var lastAt: Int64 = 0

    /// Voided seqs (`voids.json`): their keys are not remembered, their senders retried anew.
    private let voids: [ClosedRange<UInt64>]

    init(acked: UInt64, recentIDs: Int, voids: [ClosedRange<UInt64>] = []) {
        self.acked = acked
        self.voids = voids
        self.recent = RecentIDIndex(capacity: recentIDs)
    }

    /// Takes the scan of the next segment file (`isLast`: the active one, where a torn tail is
    /// expected after a crash). A problem in an older, closed segment, or a seq gap between
    /// segments, is corruption the listener must not paper over.
    mutating func add(path: String, firstSeq: UInt64, scan: JournalSegment.ScanResult, isLast: Bool) throws -> Action {
        var action = Action.keep
        if let problem = scan.problem {
            guard isLast else {
                throw JournalOpenError(
                    message:
                        "\(path): \(problem) at byte \(scan.validBytes) of a closed segment; the journal needs repair")
            }
            action = .cutTail(reason: problem, keptBytes: scan.validBytes, cutBytes: scan.fileBytes - scan.validBytes)
        }
        if let previous = lastRecordSeq, let first = scan.records.first, first.seq != previous + 1 {
            throw JournalOpenError(
                message: "\(path): starts at seq \(first.seq) after \(previous); the journal needs repair")
        }
        // Seq 0 is never written: a file named so is not one of ours, and `firstSeq - 1` below
        // must not trap on it.
        guard firstSeq > 0 else {
            throw JournalOpenError(message: "\(path): a segment cannot start at seq 0; the journal needs repair")
        }
        var newestAt: Int64?
        for record in scan.records {
            if voids.isEmpty || !voids.contains(where: { $0.contains(record.seq) }) { recent.insert(record.key) }
            if record.seq > acked { unacknowledged.append(record) }
            if let at = record.at { newestAt = max(newestAt ?? at, at) }
        }
        if let last = scan.records.last { lastRecordSeq = last.seq }
        if firstRecordSeq == nil { firstRecordSeq = scan.records.first?.seq }
        if let newestAt { lastAt = max(lastAt, newestAt) }
        // A segment with records of format 1 (or none) is as old as its last write.
        let hasFormat1 = scan.records.contains { $0.at == nil }
        segments.append(
            JournalSegment(
                firstSeq: firstSeq, path: path,
                lastSeq: scan.records.last?.seq ?? (firstSeq - 1), size: scan.validBytes,
                newestAt: hasFormat1 || newestAt == nil ? max(newestAt ?? 0, scan.modifiedAt) : newestAt!))
        return action
    }

    /// Where the journal resumes, once every segment was added.
    func finish() throws -> Outcome {
        var acked = self.acked
        var segments = self.segments
        // Records are deleted only once acknowledged (per meta.json), so the oldest one on disk is
        // at most acked + 1; a later one means unacknowledged records are gone, or meta.json is
        // not this journal's (recreated, restored from elsewhere).
        let oldest = firstRecordSeq ?? segments.first?.firstSeq
        if let oldest, acked < UInt64.max, oldest > acked + 1 {
            var error = JournalOpenError(
                message:
                    "acked \(acked) but the oldest record is seq \(oldest): unacknowledged records"
                    + " \(acked + 1)...\(oldest - 1) are missing")
            error.needsMetaRecovery = true
            throw error
        }
        let nextSeq: UInt64
        if let lastRecordSeq {
            guard lastRecordSeq < UInt64.max else {
                throw JournalOpenError(message: "seq \(lastRecordSeq) is out of range; the journal needs repair")
            }
            nextSeq = lastRecordSeq + 1
            acked = min(acked, lastRecordSeq)
        } else {
            guard acked < UInt64.max else {
                throw JournalOpenError(message: "meta.json: acked \(acked) is out of range; the journal needs repair")
            }
            nextSeq = max(acked + 1, segments.last?.firstSeq ?? 1)
        }
        var misnamed: JournalSegment?
        if let last = segments.last, last.size == 0, last.firstSeq != nextSeq {
            misnamed = segments.removeLast()
        }
        return Outcome(
            nextSeq: nextSeq, acked: acked, segments: segments, unacknowledged: unacknowledged,
            recent: recent, lastAt: lastAt, misnamedEmptySegment: misnamed)
    }
}

struct JournalOpenError: Error, CustomStringConvertible {
    var message: String
    /// meta.json disagrees with the segments: the caller names the file and the recovery command.
    var needsMetaRecovery = false
    var description: String { message }
}
