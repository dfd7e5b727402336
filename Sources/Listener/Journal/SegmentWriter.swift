import Foundation
import Metrics
import Shared

/// The I/O of one journal: appends encoded records to the active segment, fsyncs per the policy,
/// rolls to a new segment at the size limit, writes `meta.json` and deletes segments the worker
/// has acknowledged (format: docs/journal.md).
///
/// Used by the journal's writer thread only (and by `open` before that thread starts), so it
/// needs no lock of its own.
final class SegmentWriter {
    struct Failure: Error, Equatable {
        var reason: String
    }

    let directory: String
    let epoch: String
    let fsync: ListenerConfig.FsyncPolicy
    let segmentBytes: Int
    let timings: JournalTimings?
    private(set) var segments: [JournalSegment]
    private var activeFD: Int32 = -1
    /// The segments and the active one's state before the current `write`: what `rollBack`
    /// restores when that write fails.
    private var batchStart: (count: Int, active: JournalSegment)?

    /// Opens the active segment: the last of `segments`, or a new one named `nextSeq` when there
    /// is none or the last is full.
    init(
        directory: String, epoch: String, fsync: ListenerConfig.FsyncPolicy, segmentBytes: Int,
        segments: [JournalSegment], nextSeq: UInt64, timings: JournalTimings? = nil
    ) throws {
        self.timings = timings
        self.directory = directory
        self.epoch = epoch
        self.fsync = fsync
        self.segmentBytes = segmentBytes
        self.segments = segments
        if segments.last == nil || segments.last!.size >= segmentBytes { startSegment(firstSeq: nextSeq) }
        try openActiveSegment()
    }

    var segmentCount: Int { segments.count }

    /// Writes `batches` (each one append call, in seq order) with as few `write(2)` as the fsync
    /// policy allows; returns the last seq written (0 when there was none).
    func write<Batches: Collection>(_ batches: Batches) -> Result<UInt64, Failure>
    where Batches.Element == [JournalRecord] {
        let started = ContinuousClock.now
        let written = writeBatches(batches)
        if case .success = written { timings?.append.record(duration: ContinuousClock.now - started) }
        return written
    }

    private func writeBatches<Batches: Collection>(_ batches: Batches) -> Result<UInt64, Failure>
    where Batches.Element == [JournalRecord] {
        batchStart = (segments.count, segments.last!)
        var buffer: [UInt8] = []
        // One allocation for the batch (reserving per record would copy the buffer each time).
        buffer.reserveCapacity(
            batches.reduce(0) { total, records in total + records.reduce(0) { $0 + $1.encodedSize } })
        var lastSeq: UInt64 = 0
        for records in batches {
            guard let first = records.first else { continue }
            if let active = segments.last, active.size > 0, active.size + buffer.count >= segmentBytes {
                if let failed = flush(&buffer, syncing: fsync != .none) { return .failure(failed) }
                if let failed = roll(firstSeq: first.seq) { return .failure(failed) }
            }
            for record in records { record.encode(into: &buffer) }
            lastSeq = records.last!.seq
            // Stamps never decrease, so the batch's last is the segment's newest.
            if let at = records.last!.at {
                segments[segments.count - 1].newestAt = max(segments[segments.count - 1].newestAt, at)
            }
            if fsync == .always, let failed = flush(&buffer, syncing: true) { return .failure(failed) }
        }
        if let failed = flush(&buffer, syncing: fsync == .batch) { return .failure(failed) }
        return .success(lastSeq)
    }

    /// Persists `acked` in `meta.json`.
    func persist(acked: UInt64) throws {
        try JournalMeta(epoch: epoch, acked: acked).write(path: directory + "/meta.json")
    }

    /// Deletes the segments `retention` lets go at `now`, given the acknowledged seq `meta.json`
    /// holds; returns how many.
    @discardableResult
    func applyRetention(_ retention: JournalRetention, acked: UInt64, now: Int64) -> Int {
        let released = retention.releasable(segments, acked: acked, now: now)
        for segment in segments.prefix(released) { unlink(segment.path) }
        segments.removeFirst(released)
        return released
    }

    /// The oldest seq still on disk (the active segment's name when it is the only one).
    var oldestRetainedSeq: UInt64 { segments.first?.firstSeq ?? 1 }

    /// Reads the records of `range` back from the retained segments (a rewind); the caller asks
    /// only for seqs from `oldestRetainedSeq` on. Throws when one cannot be read.
    func read(_ range: ClosedRange<UInt64>) throws -> [JournalRecord] {
        var records: [JournalRecord] = []
        for (index, segment) in segments.enumerated() {
            let end = index + 1 < segments.count ? segments[index + 1].firstSeq - 1 : UInt64.max
            guard segment.firstSeq <= range.upperBound, end >= range.lowerBound else { continue }
            records += try JournalSegment.read(path: segment.path, firstSeq: segment.firstSeq, range: range)
        }
        guard records.first?.seq == range.lowerBound, records.last?.seq == range.upperBound,
            UInt64(records.count) == range.upperBound - range.lowerBound + 1
        else {
            throw JournalOpenError(
                message: "\(directory): seqs \(range.lowerBound)...\(range.upperBound) cannot be read back")
        }
        return records
    }

    /// Undoes the last, failed `write`: deletes the segments it started and cuts the one it began
    /// in back to its size before, so no byte of a record that was not answered stays on disk (a
    /// restart would otherwise forward it, and its seq would be handed out again). False when the
    /// files could not be put back: the journal must not append any more.
    func rollBack() -> Bool {
        guard let (count, active) = batchStart, count >= 1, count <= segments.count else { return false }
        batchStart = nil
        if activeFD >= 0 {
            Glibc.close(activeFD)
            activeFD = -1
        }
        for segment in segments[count...] { unlink(segment.path) }
        segments.removeLast(segments.count - count)
        segments[count - 1] = active
        guard truncate(active.path, off_t(active.size)) == 0 else { return false }
        do { try openActiveSegment() } catch { return false }
        return true
    }

    /// Syncs (unless the policy is `none`) and closes the active segment.
    func close() {
        guard activeFD >= 0 else { return }
        if fsync != .none { Glibc.fsync(activeFD) }
        Glibc.close(activeFD)
        activeFD = -1
    }

    /// Writes `buffer` to the active segment (and fsyncs it if asked).
    private func flush(_ buffer: inout [UInt8], syncing: Bool) -> Failure? {
        guard !buffer.isEmpty else { return nil }
        let count = buffer.count
        let failed: Failure? = buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(activeFD, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return Failure(reason: "write \(segments.last!.path): \(String(cString: strerror(errno)))")
                }
                offset += written
            }
            return nil
        }
        if let failed { return failed }
        if syncing {
            let started = ContinuousClock.now
            guard fdatasync(activeFD) == 0 else {
                return Failure(reason: "fsync \(segments.last!.path): \(String(cString: strerror(errno)))")
            }
            timings?.fsync.record(duration: ContinuousClock.now - started)
        }
        segments[segments.count - 1].size += count
        buffer.removeAll(keepingCapacity: true)
        return nil
    }

    private func roll(firstSeq: UInt64) -> Failure? {
        // Record the last seq of the closing segment before leaving it.
        segments[segments.count - 1].lastSeq = firstSeq - 1
        Glibc.close(activeFD)
        activeFD = -1
        startSegment(firstSeq: firstSeq)
        do { try openActiveSegment() } catch { return Failure(reason: "\(error)") }
        return nil
    }

    private func startSegment(firstSeq: UInt64) {
        let path = directory + "/" + JournalSegment.fileName(firstSeq: firstSeq)
        segments.append(JournalSegment(firstSeq: firstSeq, path: path, lastSeq: firstSeq - 1, size: 0))
    }

    private func openActiveSegment() throws {
        let path = segments.last!.path
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw JournalOpenError(message: "\(path): cannot open (errno \(errno))") }
        activeFD = fd
        JournalMeta.syncDirectory(directory)
    }
}
