import Foundation
import Logging
import Shared

/// The durable, append-only, segmented journal of one app, in files (format: docs/journal.md).
///
/// Appends are decided under one lock (`JournalBacklog`: dedupe, limit, seq) and queued; one
/// dedicated thread per journal takes everything queued, writes it through its `SegmentWriter`
/// (which also fsyncs per the policy: `batch` is one fsync for everything queued), then answers
/// every waiting sender and wakes forwarding. Records not yet acknowledged by the worker stay in
/// the backlog (bounded by `maxBacklogBytes`); the acknowledged seq is persisted in `meta.json`
/// (`AckCursor`) and fully acknowledged segments are deleted.
final class FileJournal: Journal, @unchecked Sendable {
    struct Options: Sendable {
        var fsync: ListenerConfig.FsyncPolicy
        var maxBacklogBytes: Int
        var segmentBytes: Int = 64 << 20
        var recentIDs: Int = 100_000
        /// `journal_retain` / `journal_retain_bytes`: acknowledged records kept for replay.
        var retention: JournalRetention = .standard
        /// Unix ms; stamps each admitted record with its accept time (tests pass a fake clock).
        var clock: @Sendable () -> Int64 = FileJournal.unixMillisecondsNow
        /// Nil records no durations (tests of the journal alone).
        var timings: JournalTimings? = nil
    }

    static let unixMillisecondsNow: @Sendable () -> Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec / 1_000_000)
    }

    /// How long appends are refused after a failed write before the journal tries again: the app
    /// recovers by itself once the disk has room, and senders retrying a 503 do not spin on it.
    static let retryInterval: Duration = .seconds(1)

    /// How often the writer looks whether retention lets a segment go when nothing else happens.
    static let retentionInterval: Duration = .seconds(1)

    private struct PendingVoid {
        var range: ClosedRange<UInt64>
        var keys: [String]
        var completion: @Sendable (Bool) -> Void
    }

    private struct PendingRewind {
        var target: UInt64
        var completion: @Sendable (RewindOutcome) -> Void
    }

    private struct QueuedAppend {
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
    private var backlog: JournalBacklog
    private var queue: [QueuedAppend] = []
    private var closing = false
    /// Why appends are refused after a failed write, and until when (nil: for good, the files
    /// could not be put back).
    private var failure: (reason: String, until: ContinuousClock.Instant?)?
    private var onDurable: (@Sendable () -> Void)?
    private var segmentCount: Int
    private var oldestRetainedSeq: UInt64
    private var skippedTotal: UInt64 = 0
    /// The highest seq counted as skipped: a worker that says the same stale hello again (it
    /// restarted before applying the gap) does not count the same seqs twice.
    private var skippedThrough: UInt64 = 0
    private var rewinds: [PendingRewind] = []
    private var voidRequests: [PendingVoid] = []
    /// The keys of each held part, by its first seq, until released or voided.
    private var holdKeys: [UInt64: [String]] = [:]
    private var finished = false

    // Owned by the writer thread (and by `open` before the thread starts).
    private let writer: SegmentWriter
    private var ackCursor: AckCursor
    private var lastRetentionCheck: ContinuousClock.Instant = .now
    /// Voided seq ranges still on disk, as `voids.json` holds them.
    private var voids: JournalVoids

    private init(
        app: String, directory: String, epoch: String, options: Options, logger: Logger,
        backlog: JournalBacklog, writer: SegmentWriter, voids: JournalVoids
    ) {
        self.voids = voids
        self.app = app
        self.directory = directory
        self.epoch = epoch
        self.options = options
        self.logger = logger
        self.backlog = backlog
        self.writer = writer
        self.segmentCount = writer.segmentCount
        self.oldestRetainedSeq = writer.oldestRetainedSeq
        self.ackCursor = AckCursor(persisted: backlog.ackedSeq, now: .now)
    }

    // MARK: Opening

    /// Opens (or creates) the journal in `directory`, cutting a torn or corrupt tail of the last segment.
    static func open(app: String, directory: String, options: Options, logger: Logger) throws -> FileJournal {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let metaPath = directory + "/meta.json"
        let meta: JournalMeta
        let files = try JournalSegment.list(in: directory)
        if FileManager.default.fileExists(atPath: metaPath) {
            meta = try JournalMeta.read(path: metaPath, app: app)
        } else {
            // Segments without meta.json: a new epoch would hand their records to the worker
            // again as new messages. Only an empty directory starts a new journal.
            guard files.isEmpty else {
                throw JournalOpenError(
                    message:
                        "\(metaPath) is missing but the journal has \(files.count) segment file(s);"
                        + " \(JournalMeta.recoveryHint(app: app))")
            }
            meta = JournalMeta(epoch: JournalMeta.newEpoch(), acked: 0)
            try meta.write(path: metaPath)
        }
        let voids = try JournalVoids.read(directory: directory, app: app)
        var recovery = SegmentRecovery(acked: meta.acked, recentIDs: options.recentIDs, voids: voids.ranges)
        for (index, file) in files.enumerated() {
            let scan = try JournalSegment.scan(path: file.path, firstSeq: file.firstSeq)
            let action = try recovery.add(
                path: file.path, firstSeq: file.firstSeq, scan: scan,
                isLast: index == files.count - 1)
            if case .cutTail(let reason, let keptBytes, let cutBytes) = action {
                logger.warning(
                    "journal tail cut",
                    metadata: [
                        "segment": .string(file.path), "reason": .string(reason),
                        "kept_bytes": "\(keptBytes)", "cut_bytes": "\(cutBytes)",
                    ])
                guard truncate(file.path, off_t(keptBytes)) == 0 else {
                    throw JournalOpenError(message: "\(file.path): cannot cut the torn tail (errno \(errno))")
                }
            }
        }
        let outcome: SegmentRecovery.Outcome
        do {
            outcome = try recovery.finish()
        } catch let error as JournalOpenError where error.needsMetaRecovery {
            throw JournalOpenError(message: "\(metaPath): \(error.message); \(JournalMeta.recoveryHint(app: app))")
        }
        if let misnamed = outcome.misnamedEmptySegment { unlink(misnamed.path) }
        if meta.format != JournalMeta.currentFormat {
            // A journal of the first release: its records stay format 1 and are read as such; what
            // is appended from now on is format 2, which meta.json says before the first append.
            try JournalMeta(epoch: meta.epoch, acked: outcome.acked).write(path: metaPath)
            logger.notice("journal upgraded to format 2", metadata: ["directory": .string(directory)])
        }
        let backlog = JournalBacklog(
            limit: options.maxBacklogBytes, nextSeq: outcome.nextSeq, acked: outcome.acked,
            unacknowledged: outcome.unacknowledged, recent: outcome.recent, lastAt: outcome.lastAt,
            voids: voids.ranges)
        let writer = try SegmentWriter(
            directory: directory, epoch: meta.epoch, fsync: options.fsync,
            segmentBytes: options.segmentBytes, segments: outcome.segments,
            nextSeq: outcome.nextSeq, timings: options.timings)
        let journal = FileJournal(
            app: app, directory: directory, epoch: meta.epoch, options: options, logger: logger,
            backlog: backlog, writer: writer, voids: voids)
        let thread = Thread { [journal] in
            ThreadName.setCurrent("journal-\(app)")
            journal.writerLoop()
        }
        thread.start()
        return journal
    }

    // MARK: Appending

    func reserve(_ bytes: Int) -> Result<Void, JournalRejection> {
        condition.lock()
        defer { condition.unlock() }
        if closing { return .failure(.closed) }
        if let reason = refusingSince() { return .failure(.storage(reason)) }
        guard backlog.reserve(bytes) else { return .failure(.backlogFull(limit: backlog.limit)) }
        return .success(())
    }

    func release(_ bytes: Int) {
        condition.lock()
        backlog.release(bytes)
        condition.unlock()
    }

    func append(
        _ entries: [JournalEntry], reserved: Int, held: Bool,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void
    ) {
        condition.lock()
        backlog.release(reserved)
        if closing {
            condition.unlock()
            return completion(.failure(.closed))
        }
        if let reason = refusingSince() {
            condition.unlock()
            return completion(.failure(.storage(reason)))
        }
        switch backlog.admit(entries, roomReserved: reserved != 0, now: options.clock()) {
        case .refused(let limit):
            condition.unlock()
            return completion(.failure(.backlogFull(limit: limit)))
        case .admitted(let records, var receipt):
            if held, let first = records.first?.seq, let last = records.last?.seq {
                backlog.hold(first...last)
                holdKeys[first] = records.map(\.key)
                receipt.held = first...last
            }
            queue.append(QueuedAppend(records: records, completion: completion, receipt: receipt))
            condition.signal()
            condition.unlock()
        }
    }

    // MARK: Forwarding side

    func setDurableListener(_ listener: (@Sendable () -> Void)?) {
        condition.lock()
        onDurable = listener
        condition.unlock()
    }

    var ackedSeqNow: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return backlog.ackedSeq
    }

    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [ForwardRecord] {
        condition.lock()
        defer { condition.unlock() }
        return backlog.records(from: seq, maxCount: maxCount, maxBytes: maxBytes)
    }

    func releaseHold(_ range: ClosedRange<UInt64>) {
        condition.lock()
        backlog.release(range)
        holdKeys[range.lowerBound] = nil
        let listener = onDurable
        condition.unlock()
        listener?()
    }

    func void(_ range: ClosedRange<UInt64>, completion: @escaping @Sendable (Bool) -> Void) {
        condition.lock()
        // Only the keys this part appended: a duplicate in the request belongs to an earlier record.
        let keys = holdKeys.removeValue(forKey: range.lowerBound) ?? []
        voidRequests.append(PendingVoid(range: range, keys: keys, completion: completion))
        condition.signal()
        condition.unlock()
    }

    func acknowledge(_ seq: UInt64) {
        condition.lock()
        backlog.acknowledge(seq)
        condition.unlock()
    }

    func snapshot() -> JournalSnapshot {
        condition.lock()
        defer { condition.unlock() }
        return JournalSnapshot(
            epoch: epoch, lastSeq: backlog.lastSeq, durableSeq: backlog.durableSeq,
            ackedSeq: backlog.ackedSeq, backlogMessages: backlog.count, backlogBytes: backlog.bytes,
            segments: segmentCount, appendedTotal: backlog.appendedTotal,
            duplicatesTotal: backlog.duplicatesTotal, skippedTotal: skippedTotal,
            oldestRetainedSeq: oldestRetainedSeq)
    }

    func rewind(to seq: UInt64, completion: @escaping @Sendable (RewindOutcome) -> Void) {
        condition.lock()
        rewinds.append(PendingRewind(target: seq, completion: completion))
        condition.signal()
        condition.unlock()
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
            if queue.isEmpty && rewinds.isEmpty && voidRequests.isEmpty && !closing {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
            }
            let appends = queue
            queue.removeAll(keepingCapacity: true)
            let pendingRewinds = rewinds
            rewinds.removeAll()
            let pendingVoids = voidRequests
            voidRequests.removeAll()
            var acked = backlog.ackedSeq
            let stopping = closing && appends.isEmpty
            condition.unlock()

            if !appends.isEmpty { write(appends) }
            for pending in pendingVoids { pending.completion(void(pending)) }
            if !pendingRewinds.isEmpty {
                for pending in pendingRewinds { pending.completion(rewind(to: pending.target)) }
                // A rewind lowered acked (and persisted it): never write the older, higher value.
                acked = ackedSeqNow
            }
            if ackCursor.isDue(acked: acked, now: .now, idle: appends.isEmpty, stopping: stopping) {
                persistAck(acked)
            }
            if ContinuousClock.now - lastRetentionCheck > Self.retentionInterval { applyRetention() }
            if stopping {
                writer.close()
                condition.lock()
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    /// Under the lock: the reason appends are refused now, if they are (after a failed write,
    /// for `retryInterval`; then the next append tries the disk again).
    private func refusingSince() -> String? {
        guard let failure else { return nil }
        if let until = failure.until, ContinuousClock.now >= until {
            self.failure = nil
            return nil
        }
        return failure.reason
    }

    private func write(_ appends: [QueuedAppend]) {
        let outcome = writer.write(appends.lazy.map(\.records))
        if case .failure(let failed) = outcome {
            return writeFailed(appends, reason: failed.reason)
        }
        condition.lock()
        if case .success(let lastSeq) = outcome { backlog.durable(through: lastSeq) }
        let listener = onDurable
        segmentCount = writer.segmentCount
        condition.unlock()
        for append in appends { append.completion(.success(append.receipt)) }
        if case .success(let lastSeq) = outcome, lastSeq > 0 { listener?() }
    }

    /// A write failed (disk full, I/O error, failed fsync): the records of this batch and of
    /// everything queued behind it (their seqs come after) are taken back whole: cut from the
    /// segment, seqs and keys given back, every sender answered with the storage error (503, to
    /// retry). Appends are refused for `retryInterval`, then the disk is tried again. Nothing of
    /// it was forwarded: only durable records are.
    private func writeFailed(_ appends: [QueuedAppend], reason: String) {
        let restored = writer.rollBack()
        condition.lock()
        let failed = appends + queue
        queue.removeAll()
        if let first = failed.lazy.compactMap(\.records.first).first {
            backlog.rollBack(from: first.seq, keys: failed.flatMap { $0.records.map(\.key) })
            holdKeys = holdKeys.filter { $0.key < first.seq }
        }
        failure = (reason, restored ? ContinuousClock.now + Self.retryInterval : nil)
        segmentCount = writer.segmentCount
        condition.unlock()
        if restored {
            logger.error(
                "journal write failed; messages refused with 503 for a while, then retried",
                metadata: [
                    "reason": .string(reason), "rolled_back": "\(failed.reduce(0) { $0 + $1.records.count })",
                    "retry_after_ms": "\(Self.retryInterval.components.seconds * 1000)",
                ])
        } else {
            logger.critical(
                "journal write failed and the segment cannot be cut back; refusing messages until restarted",
                metadata: ["reason": .string(reason)])
        }
        for append in failed { append.completion(.failure(.storage(reason))) }
    }

    private func persistAck(_ acked: UInt64) {
        do {
            try writer.persist(acked: acked)
        } catch {
            logger.error("cannot persist acknowledged seq", metadata: ["error": "\(error)"])
            return
        }
        ackCursor.wrote(acked, at: .now)
        applyRetention()
    }

    /// Deletes the acknowledged segments retention lets go (per the acked seq `meta.json` holds,
    /// so a crash never leaves meta.json pointing before the oldest record).
    private func applyRetention() {
        lastRetentionCheck = .now
        guard writer.applyRetention(options.retention, acked: ackCursor.persisted, now: options.clock()) > 0 else {
            return
        }
        // Void ranges matter as long as their records are on disk (a rewind may read them back).
        if voids.prune(before: writer.oldestRetainedSeq) {
            do { try voids.write(directory: directory) } catch {
                logger.error("cannot write the void ranges", metadata: ["error": "\(error)"])
            }
        }
        condition.lock()
        segmentCount = writer.segmentCount
        oldestRetainedSeq = writer.oldestRetainedSeq
        condition.unlock()
    }

    /// On the writer thread: makes the void of a multi-app part durable, then voids it in the
    /// backlog (its keys given back) and wakes forwarding. If the marker cannot be written the
    /// part is released instead: a restart would forward it anyway, so its keys must stay.
    private func void(_ pending: PendingVoid) -> Bool {
        var updated = voids
        updated.ranges.append(pending.range)
        var written = true
        do {
            try updated.write(directory: directory)
            voids = updated
        } catch {
            written = false
            logger.error(
                "cannot write the void marker; the part is forwarded and the sender's retry is deduplicated",
                metadata: [
                    "from": "\(pending.range.lowerBound)", "to": "\(pending.range.upperBound)", "error": "\(error)",
                ])
        }
        condition.lock()
        if written {
            backlog.void(pending.range, keys: pending.keys)
        } else {
            backlog.release(pending.range)
        }
        let listener = onDurable
        condition.unlock()
        listener?()
        return written
    }

    /// On the writer thread: the worker stands at `target` of this epoch. Reads the acknowledged
    /// records after it back from disk into the backlog and persists the lowered acked seq;
    /// what is no longer on disk becomes the gap the worker is told about.
    private func rewind(to target: UInt64) -> RewindOutcome {
        condition.lock()
        let acked = backlog.ackedSeq
        condition.unlock()
        guard target < acked else { return RewindOutcome(acked: acked, gap: nil) }
        let oldest = writer.oldestRetainedSeq
        // Unacknowledged records are never deleted, so `oldest <= acked + 1`; the gap is what a
        // worker needs from before it.
        var gap: ClosedRange<UInt64>?
        if target + 1 < oldest { gap = (target + 1)...min(oldest - 1, acked) }
        let from = max(target + 1, oldest)
        var records: [JournalRecord] = []
        if from <= acked {
            do {
                records = try writer.read(from...acked)
            } catch {
                // Unreadable acknowledged records: the worker gets a gap instead of a stall.
                logger.error("cannot read acknowledged records back", metadata: ["error": "\(error)"])
                gap = (target + 1)...acked
                records = []
            }
        }
        condition.lock()
        // Nothing else moves acked while the link waits for this rewind, but make sure.
        let rewound = backlog.ackedSeq == acked && (records.isEmpty || backlog.rewind(records, voids: voids.ranges))
        let newAcked = backlog.ackedSeq
        if rewound, let gap, gap.upperBound > skippedThrough {
            skippedTotal += gap.upperBound - max(gap.lowerBound, skippedThrough + 1) + 1
            skippedThrough = gap.upperBound
        }
        condition.unlock()
        guard rewound else { return RewindOutcome(acked: newAcked, gap: nil) }
        if let gap {
            logger.error(
                "records the worker needs are gone from the journal; skipping them",
                metadata: [
                    "from": "\(gap.lowerBound)", "to": "\(gap.upperBound)",
                    "skipped": "\(gap.upperBound - gap.lowerBound + 1)",
                    "journal_retain_ms": "\(options.retention.retainMs)",
                ])
        }
        if !records.isEmpty {
            logger.warning(
                "worker is behind the acknowledged seq (its Redis lost writes); replaying from the journal",
                metadata: ["from": "\(records.first!.seq)", "to": "\(acked)"])
            // Lower meta.json's acked at once: until then a restart would not replay them.
            do {
                try writer.persist(acked: newAcked)
                ackCursor.wrote(newAcked, at: .now)
            } catch {
                logger.error("cannot persist acknowledged seq", metadata: ["error": "\(error)"])
            }
        }
        return RewindOutcome(acked: newAcked, gap: gap)
    }
}
