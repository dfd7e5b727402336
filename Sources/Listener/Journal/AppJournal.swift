import Foundation
import Logging
import NIOCore
import Shared

/// A message on its way into the journal.
struct JournalEntry: Sendable {
    /// `<source>\u{1F}<id>`: a second entry with the same key takes effect once.
    var key: String
    /// The envelope, one line of JSON.
    var envelope: [UInt8]

    var recordSize: Int { JournalRecord.encodedSize(keyBytes: key.utf8.count, envelopeBytes: envelope.count) }
}

enum JournalRejection: Error, Sendable, Equatable {
    case backlogFull(limit: Int)
    case closed
    case storage(String)
}

struct AppendReceipt: Sendable, Equatable {
    var appended: Int
    var duplicates: Int
}

/// Counters of one journal, for status and metrics.
struct JournalSnapshot: Sendable, Equatable {
    var epoch: String
    var lastSeq: UInt64
    var durableSeq: UInt64
    var ackedSeq: UInt64
    var backlogMessages: Int
    var backlogBytes: Int
    var segments: Int
    var appendedTotal: UInt64
    var duplicatesTotal: UInt64
}

/// The durable, append-only, segmented journal of one app (format: docs/journal.md).
///
/// Appends are queued under a lock, given their seq at once, and written by one dedicated thread
/// per journal, which also fsyncs per the policy (`batch`: one fsync for everything queued, then
/// every waiting sender is answered). Records not yet acknowledged by the worker stay in memory
/// (bounded by `maxBacklogBytes`) for forwarding; acknowledged seq is persisted in `meta.json` and
/// fully acknowledged segments are deleted.
final class AppJournal: @unchecked Sendable {
    struct Options: Sendable {
        var fsync: ListenerConfig.FsyncPolicy
        var maxBacklogBytes: Int
        var segmentBytes: Int = 64 << 20
        var recentIDs: Int = 100_000
    }

    private struct PendingRecord {
        var envelope: [UInt8]
        var size: Int
    }

    private struct WriteItem {
        var records: [JournalRecord]
        var completion: @Sendable (Result<AppendReceipt, JournalRejection>) -> Void
        var receipt: AppendReceipt
    }

    let app: String
    let directory: String
    let epoch: String
    let options: Options
    private let logger: Logger

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var nextSeq: UInt64
    private var durableSeq: UInt64
    private var ackedSeq: UInt64
    private var pending = CircularBuffer<PendingRecord>()
    private var backlogBytes = 0
    private var reservedBytes = 0
    private var queue: [WriteItem] = []
    private var recent: RecentIDIndex
    private var closing = false
    private var failure: String?
    private var onDurable: (@Sendable () -> Void)?
    private var segmentCount = 0
    private var appendedTotal: UInt64 = 0
    private var duplicatesTotal: UInt64 = 0
    private var finished = false

    // Owned by the writer thread (and by `open` before the thread starts).
    private var segments: [JournalSegment]
    private var activeFD: Int32 = -1
    private var persistedAck: UInt64
    private var lastPersist = ContinuousClock.now

    private init(app: String, directory: String, epoch: String, options: Options, logger: Logger,
                 nextSeq: UInt64, acked: UInt64, segments: [JournalSegment], recent: RecentIDIndex) {
        self.app = app
        self.directory = directory
        self.epoch = epoch
        self.options = options
        self.logger = logger
        self.nextSeq = nextSeq
        self.durableSeq = nextSeq - 1
        self.ackedSeq = acked
        self.persistedAck = acked
        self.segments = segments
        self.recent = recent
    }

    // MARK: Opening

    /// Opens (or creates) the journal in `directory`, cutting a torn or corrupt tail of the last segment.
    static func open(app: String, directory: String, options: Options, logger: Logger) throws -> AppJournal {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let metaPath = directory + "/meta.json"
        var meta: JournalMeta
        if FileManager.default.fileExists(atPath: metaPath) {
            meta = try JournalMeta.read(path: metaPath)
        } else {
            meta = JournalMeta(epoch: JournalMeta.newEpoch(), acked: 0)
            try meta.write(path: metaPath)
        }
        var recent = RecentIDIndex(capacity: options.recentIDs)
        var segments: [JournalSegment] = []
        var unacked: [JournalRecord] = []
        var lastRecordSeq: UInt64?
        let files = try JournalSegment.list(in: directory)
        for (index, file) in files.enumerated() {
            let isLast = index == files.count - 1
            let scan = try JournalSegment.scan(path: file.path, firstSeq: file.firstSeq)
            if let problem = scan.problem {
                guard isLast else {
                    throw JournalOpenError(message: "\(file.path): \(problem) at byte \(scan.validBytes) of a closed segment; the journal needs repair")
                }
                logger.warning("journal tail cut", metadata: [
                    "segment": .string(file.path), "reason": .string(problem),
                    "kept_bytes": "\(scan.validBytes)", "cut_bytes": "\(scan.fileBytes - scan.validBytes)",
                ])
                guard truncate(file.path, off_t(scan.validBytes)) == 0 else {
                    throw JournalOpenError(message: "\(file.path): cannot cut the torn tail (errno \(errno))")
                }
            }
            if let previous = lastRecordSeq, let first = scan.records.first, first.seq != previous + 1 {
                throw JournalOpenError(message: "\(file.path): starts at seq \(first.seq) after \(previous); the journal needs repair")
            }
            for record in scan.records {
                recent.insert(record.key)
                if record.seq > meta.acked { unacked.append(record) }
            }
            if let last = scan.records.last { lastRecordSeq = last.seq }
            segments.append(JournalSegment(firstSeq: file.firstSeq, path: file.path,
                                           lastSeq: scan.records.last?.seq ?? (file.firstSeq - 1), size: scan.validBytes))
        }
        let nextSeq: UInt64
        if let lastRecordSeq {
            nextSeq = lastRecordSeq + 1
            if meta.acked > lastRecordSeq { meta.acked = lastRecordSeq }
        } else {
            nextSeq = max(meta.acked + 1, segments.last?.firstSeq ?? 1)
        }
        // The active segment must be named by the seq its first record will carry.
        if let last = segments.last, last.size == 0, last.firstSeq != nextSeq {
            unlink(last.path)
            segments.removeLast()
        }
        let journal = AppJournal(app: app, directory: directory, epoch: meta.epoch, options: options, logger: logger,
                                 nextSeq: nextSeq, acked: meta.acked, segments: segments, recent: recent)
        for record in unacked {
            journal.pending.append(PendingRecord(envelope: record.envelope, size: record.encodedSize))
            journal.backlogBytes += record.encodedSize
        }
        try journal.openActiveSegment()
        journal.segmentCount = journal.segments.count
        let thread = Thread { [journal] in journal.writerLoop() }
        thread.name = "journal-\(app)"
        thread.start()
        return journal
    }

    private func openActiveSegment() throws {
        if segments.last == nil || segments.last!.size >= options.segmentBytes {
            let first = nextSeq
            let path = directory + "/" + JournalSegment.fileName(firstSeq: first)
            segments.append(JournalSegment(firstSeq: first, path: path, lastSeq: first - 1, size: 0))
        }
        let path = segments.last!.path
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw JournalOpenError(message: "\(path): cannot open (errno \(errno))") }
        activeFD = fd
        JournalMeta.syncDirectory(directory)
    }

    // MARK: Appending

    /// Sets aside backlog room for an append that must not fail for lack of room (several apps in one request).
    func reserve(_ bytes: Int) -> Result<Void, JournalRejection> {
        condition.lock()
        defer { condition.unlock() }
        if closing { return .failure(.closed) }
        if let failure { return .failure(.storage(failure)) }
        guard backlogBytes + reservedBytes + bytes <= options.maxBacklogBytes else {
            return .failure(.backlogFull(limit: options.maxBacklogBytes))
        }
        reservedBytes += bytes
        return .success(())
    }

    func release(_ bytes: Int) {
        condition.lock()
        reservedBytes -= bytes
        condition.unlock()
    }

    /// Appends the entries (all or none); `completion` runs once they are durable per the fsync policy.
    /// Entries whose key is already journaled are answered as accepted and not appended again.
    func append(_ entries: [JournalEntry], reserved: Int = 0,
                completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void) {
        condition.lock()
        reservedBytes -= reserved
        if closing {
            condition.unlock()
            return completion(.failure(.closed))
        }
        if let failure {
            condition.unlock()
            return completion(.failure(.storage(failure)))
        }
        var fresh: [JournalEntry] = []
        fresh.reserveCapacity(entries.count)
        var bytes = 0
        var seen: Set<String> = []
        for entry in entries where !recent.contains(entry.key) && seen.insert(entry.key).inserted {
            fresh.append(entry)
            bytes += entry.recordSize
        }
        if !fresh.isEmpty, reserved == 0, backlogBytes + reservedBytes + bytes > options.maxBacklogBytes {
            condition.unlock()
            return completion(.failure(.backlogFull(limit: options.maxBacklogBytes)))
        }
        var records: [JournalRecord] = []
        records.reserveCapacity(fresh.count)
        for entry in fresh {
            recent.insert(entry.key)
            records.append(JournalRecord(seq: nextSeq, key: entry.key, envelope: entry.envelope))
            pending.append(PendingRecord(envelope: entry.envelope, size: entry.recordSize))
            nextSeq += 1
        }
        backlogBytes += bytes
        appendedTotal += UInt64(records.count)
        duplicatesTotal += UInt64(entries.count - records.count)
        queue.append(WriteItem(records: records, completion: completion,
                               receipt: AppendReceipt(appended: records.count, duplicates: entries.count - records.count)))
        condition.signal()
        condition.unlock()
    }

    func append(_ entries: [JournalEntry], reserved: Int = 0) async -> Result<AppendReceipt, JournalRejection> {
        await withCheckedContinuation { continuation in
            append(entries, reserved: reserved) { continuation.resume(returning: $0) }
        }
    }

    // MARK: Forwarding side

    /// Called on the writer thread whenever new records became durable.
    func setDurableListener(_ listener: (@Sendable () -> Void)?) {
        condition.lock()
        onDurable = listener
        condition.unlock()
    }

    var ackedSeqNow: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return ackedSeq
    }

    /// Durable, unacknowledged records from `seq` on (or from the first unacknowledged one).
    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [(seq: UInt64, envelope: [UInt8])] {
        condition.lock()
        defer { condition.unlock() }
        let first = max(seq, ackedSeq + 1)
        guard first <= durableSeq else { return [] }
        var result: [(seq: UInt64, envelope: [UInt8])] = []
        var bytes = 0
        var current = first
        while current <= durableSeq, result.count < maxCount, bytes < maxBytes {
            let record = pending[pending.index(pending.startIndex, offsetBy: Int(current - ackedSeq - 1))]
            result.append((current, record.envelope))
            bytes += record.envelope.count
            current += 1
        }
        return result
    }

    /// The worker has applied everything up to `seq` (cumulative).
    func acknowledge(_ seq: UInt64) {
        condition.lock()
        let target = min(seq, durableSeq)
        if target > ackedSeq {
            while ackedSeq < target {
                let record = pending.removeFirst()
                backlogBytes -= record.size
                ackedSeq += 1
            }
        }
        condition.unlock()
    }

    func snapshot() -> JournalSnapshot {
        condition.lock()
        defer { condition.unlock() }
        return JournalSnapshot(epoch: epoch, lastSeq: nextSeq - 1, durableSeq: durableSeq, ackedSeq: ackedSeq,
                               backlogMessages: pending.count, backlogBytes: backlogBytes, segments: segmentCount,
                               appendedTotal: appendedTotal, duplicatesTotal: duplicatesTotal)
    }

    /// Writes what is queued, persists the acknowledged seq and stops the writer thread.
    func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    // MARK: Writer thread

    private func writerLoop() {
        while true {
            condition.lock()
            if queue.isEmpty && !closing {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
            }
            let items = queue
            queue.removeAll(keepingCapacity: true)
            let acked = ackedSeq
            let stopping = closing && items.isEmpty
            condition.unlock()

            if !items.isEmpty { write(items) }
            if acked > persistedAck, stopping || items.isEmpty || ContinuousClock.now - lastPersist > .milliseconds(200) {
                persistAck(acked)
            }
            if stopping {
                if activeFD >= 0 {
                    if options.fsync != .none { fsync(activeFD) }
                    Glibc.close(activeFD)
                    activeFD = -1
                }
                condition.lock()
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    private func write(_ items: [WriteItem]) {
        var buffer: [UInt8] = []
        // One allocation for the batch (reserving per record would copy the buffer each time).
        buffer.reserveCapacity(items.reduce(0) { total, item in total + item.records.reduce(0) { $0 + $1.encodedSize } })
        var lastSeq: UInt64 = 0
        var problem: String?
        for item in items {
            guard let first = item.records.first else { continue }
            if let active = segments.last, active.size > 0, active.size + buffer.count >= options.segmentBytes {
                if let failed = flush(&buffer, syncing: options.fsync != .none) { problem = failed; break }
                if let failed = roll(firstSeq: first.seq) { problem = failed; break }
            }
            for record in item.records { record.encode(into: &buffer) }
            lastSeq = item.records.last!.seq
            if options.fsync == .always, let failed = flush(&buffer, syncing: true) { problem = failed; break }
        }
        if problem == nil, let failed = flush(&buffer, syncing: options.fsync == .batch) { problem = failed }

        condition.lock()
        if let problem {
            failure = problem
            logger.error("journal write failed; refusing new messages", metadata: ["reason": .string(problem)])
        } else if lastSeq > durableSeq {
            durableSeq = lastSeq
        }
        let listener = onDurable
        segmentCount = segments.count
        condition.unlock()
        for item in items {
            if let problem { item.completion(.failure(.storage(problem))) } else { item.completion(.success(item.receipt)) }
        }
        if problem == nil, lastSeq > 0 { listener?() }
    }

    /// Writes `buffer` to the active segment (and fsyncs it if asked); returns a failure reason.
    private func flush(_ buffer: inout [UInt8], syncing: Bool) -> String? {
        guard !buffer.isEmpty else { return nil }
        let count = buffer.count
        let failed: String? = buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(activeFD, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return "write \(segments.last!.path): errno \(errno)"
                }
                offset += written
            }
            return nil
        }
        if let failed { return failed }
        if syncing, fdatasync(activeFD) != 0 { return "fsync \(segments.last!.path): errno \(errno)" }
        segments[segments.count - 1].size += count
        buffer.removeAll(keepingCapacity: true)
        return nil
    }

    private func roll(firstSeq: UInt64) -> String? {
        // Record the last seq of the closing segment before leaving it.
        segments[segments.count - 1].lastSeq = firstSeq - 1
        Glibc.close(activeFD)
        activeFD = -1
        let path = directory + "/" + JournalSegment.fileName(firstSeq: firstSeq)
        segments.append(JournalSegment(firstSeq: firstSeq, path: path, lastSeq: firstSeq - 1, size: 0))
        do { try openActiveSegment() } catch { return "\(error)" }
        return nil
    }

    private func persistAck(_ acked: UInt64) {
        do {
            try JournalMeta(epoch: epoch, acked: acked).write(path: directory + "/meta.json")
        } catch {
            logger.error("cannot persist acknowledged seq", metadata: ["error": "\(error)"])
            return
        }
        persistedAck = acked
        lastPersist = .now
        // Segments before the active one whose records are all acknowledged are no longer needed.
        while segments.count > 1, segments[0].firstSeq <= acked, segments[1].firstSeq - 1 <= acked {
            unlink(segments[0].path)
            segments.removeFirst()
        }
        condition.lock()
        segmentCount = segments.count
        condition.unlock()
    }
}

struct JournalOpenError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
