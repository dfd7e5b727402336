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
    private var failure: String?
    private var onDurable: (@Sendable () -> Void)?
    private var segmentCount: Int
    private var finished = false

    // Owned by the writer thread (and by `open` before the thread starts).
    private let writer: SegmentWriter
    private var ackCursor: AckCursor

    private init(
        app: String, directory: String, epoch: String, options: Options, logger: Logger,
        backlog: JournalBacklog, writer: SegmentWriter
    ) {
        self.app = app
        self.directory = directory
        self.epoch = epoch
        self.options = options
        self.logger = logger
        self.backlog = backlog
        self.writer = writer
        self.segmentCount = writer.segmentCount
        self.ackCursor = AckCursor(persisted: backlog.ackedSeq, now: .now)
    }

    // MARK: Opening

    /// Opens (or creates) the journal in `directory`, cutting a torn or corrupt tail of the last segment.
    static func open(app: String, directory: String, options: Options, logger: Logger) throws -> FileJournal {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let metaPath = directory + "/meta.json"
        let meta: JournalMeta
        if FileManager.default.fileExists(atPath: metaPath) {
            meta = try JournalMeta.read(path: metaPath)
        } else {
            meta = JournalMeta(epoch: JournalMeta.newEpoch(), acked: 0)
            try meta.write(path: metaPath)
        }
        var recovery = SegmentRecovery(acked: meta.acked, recentIDs: options.recentIDs)
        let files = try JournalSegment.list(in: directory)
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
        let outcome = try recovery.finish()
        if let misnamed = outcome.misnamedEmptySegment { unlink(misnamed.path) }
        let backlog = JournalBacklog(
            limit: options.maxBacklogBytes, nextSeq: outcome.nextSeq, acked: outcome.acked,
            unacknowledged: outcome.unacknowledged, recent: outcome.recent)
        let writer = try SegmentWriter(
            directory: directory, epoch: meta.epoch, fsync: options.fsync,
            segmentBytes: options.segmentBytes, segments: outcome.segments,
            nextSeq: outcome.nextSeq)
        let journal = FileJournal(
            app: app, directory: directory, epoch: meta.epoch, options: options, logger: logger,
            backlog: backlog, writer: writer)
        let thread = Thread { [journal] in journal.writerLoop() }
        thread.name = "journal-\(app)"
        thread.start()
        return journal
    }

    // MARK: Appending

    func reserve(_ bytes: Int) -> Result<Void, JournalRejection> {
        condition.lock()
        defer { condition.unlock() }
        if closing { return .failure(.closed) }
        if let failure { return .failure(.storage(failure)) }
        guard backlog.reserve(bytes) else { return .failure(.backlogFull(limit: backlog.limit)) }
        return .success(())
    }

    func release(_ bytes: Int) {
        condition.lock()
        backlog.release(bytes)
        condition.unlock()
    }

    func append(
        _ entries: [JournalEntry], reserved: Int,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void
    ) {
        condition.lock()
        backlog.release(reserved)
        if closing {
            condition.unlock()
            return completion(.failure(.closed))
        }
        if let failure {
            condition.unlock()
            return completion(.failure(.storage(failure)))
        }
        switch backlog.admit(entries, roomReserved: reserved != 0) {
        case .refused(let limit):
            condition.unlock()
            return completion(.failure(.backlogFull(limit: limit)))
        case .admitted(let records, let receipt):
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

    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [(seq: UInt64, envelope: [UInt8])] {
        condition.lock()
        defer { condition.unlock() }
        return backlog.records(from: seq, maxCount: maxCount, maxBytes: maxBytes)
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
            duplicatesTotal: backlog.duplicatesTotal)
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
            let appends = queue
            queue.removeAll(keepingCapacity: true)
            let acked = backlog.ackedSeq
            let stopping = closing && appends.isEmpty
            condition.unlock()

            if !appends.isEmpty { write(appends) }
            if ackCursor.isDue(acked: acked, now: .now, idle: appends.isEmpty, stopping: stopping) {
                persistAck(acked)
            }
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

    private func write(_ appends: [QueuedAppend]) {
        let outcome = writer.write(appends.lazy.map(\.records))
        condition.lock()
        switch outcome {
        case .failure(let failed):
            failure = failed.reason
            logger.error("journal write failed; refusing new messages", metadata: ["reason": .string(failed.reason)])
        case .success(let lastSeq):
            backlog.durable(through: lastSeq)
        }
        let listener = onDurable
        segmentCount = writer.segmentCount
        condition.unlock()
        for append in appends {
            switch outcome {
            case .failure(let failed): append.completion(.failure(.storage(failed.reason)))
            case .success: append.completion(.success(append.receipt))
            }
        }
        if case .success(let lastSeq) = outcome, lastSeq > 0 { listener?() }
    }

    private func persistAck(_ acked: UInt64) {
        do {
            try writer.persist(acked: acked)
        } catch {
            logger.error("cannot persist acknowledged seq", metadata: ["error": "\(error)"])
            return
        }
        ackCursor.wrote(acked, at: .now)
        condition.lock()
        segmentCount = writer.segmentCount
        condition.unlock()
    }
}
