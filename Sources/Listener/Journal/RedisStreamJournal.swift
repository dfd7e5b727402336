import Logging
import Shared
import Synchronization

/// One app's journal as the Redis stream `mimic:{app}:journal` in the app's own DB (DESIGN
/// section 11; keys in `RedisStreamKeys`), shared by every listener instance of the app.
///
/// Appends run one script each (`RedisStreamScripts.append`): seq assignment, the idempotency
/// check and the XADDs are one atomic step in Redis, so instances appending at once never reuse a
/// seq nor journal a key twice. Appends queued while a pipeline is out go together in the next
/// one; with `redis.wait` one `WAIT` after them confirms them all before any is answered. Every instance keeps the unacknowledged records in memory (`RedisStreamWindow`) for
/// synchronous forwarding: its own appends go in when they complete, other instances' arrive
/// through a reader that follows the stream (XREAD BLOCK on a client of its own), which also
/// persists acknowledgements, trims by `journal_retain`, answers rewinds and writes what a held
/// part became. All hiredis calls run on the clients' owner threads; nothing here blocks the
/// caller, and completions run on the cooperative pool, never on an event loop.
///
/// Dedupe window: a key is known while its record is in the stream (every unacknowledged record
/// and the acknowledged ones `journal_retain` keeps) and, after that, while its seq is among the
/// newest `recentIDs`. The file journal guarantees the second while running and the first after a
/// restart (it rebuilds its recent keys from the retained segments); this one guarantees both,
/// across restarts and instances. Unlike the file journal's, the index is not capped at
/// `recentIDs` keys: a long `journal_retain` at a high rate keeps more of them in Redis.
final class RedisStreamJournal: Journal, Sendable {
    struct Options: Sendable {
        var maxBacklogBytes: Int
        /// `journal_retain` / `journal_retain_bytes`: acknowledged records kept for replay.
        var retention: JournalRetention = .standard
        /// Keys of the newest this many seqs stay known even once retention trimmed their records.
        var recentIDs: Int = 100_000
        /// Unix ms; stamps each appended record (tests pass a fake clock).
        var clock: @Sendable () -> Int64 = FileJournal.unixMillisecondsNow
        /// A held part nobody released or voided for this long (its instance died between the
        /// append and the end of the request) is released, as the file journal's restart does:
        /// forwarding must not stall on it for good.
        var holdTimeout: Duration = .seconds(30)
        /// How long one XREAD of the reader waits for new entries; also how often it persists the
        /// acknowledged seq and looks at retention.
        var readBlock: Duration = .milliseconds(200)
        var commandTimeout: Duration = .seconds(2)
        var timings: JournalTimings? = nil

        init(maxBacklogBytes: Int) {
            self.maxBacklogBytes = maxBacklogBytes
        }

        /// The same limits as the file journal's options (what `ListenerRuntime.openChannel` builds).
        init(_ file: FileJournal.Options) {
            self.maxBacklogBytes = file.maxBacklogBytes
            self.retention = file.retention
            self.recentIDs = file.recentIDs
            self.clock = file.clock
            self.timings = file.timings
        }
    }

    struct PendingRewind: Sendable {
        var target: UInt64
        var completion: @Sendable (RewindOutcome) -> Void
    }

    struct State: Sendable {
        var window: RedisStreamWindow
        var closing = false
        var onDurable: (@Sendable () -> Void)?
        /// This instance's appends: each instance counts what it accepted.
        var appendedTotal: UInt64 = 0
        var duplicatesTotal: UInt64 = 0
        var skippedTotal: UInt64 = 0
        /// The highest seq counted as skipped (a repeated stale hello counts once).
        var skippedThrough: UInt64 = 0
        var oldestRetainedSeq: UInt64
        /// The acknowledged seq Redis holds, as far as this instance knows.
        var persistedAck: UInt64
        var rewinds: [PendingRewind] = []
        /// Held parts whose release could not be written to Redis yet.
        var unwrittenReleases: [ClosedRange<UInt64>] = []
        var reader: Task<Void, Never>?
        /// Appends waiting for the sender, which takes them all in one pipeline.
        var appendQueue: [QueuedAppend] = []
        var sending = false
        var lastFailureLog: ContinuousClock.Instant?
    }

    let app: String
    let epoch: String
    let keys: RedisStreamKeys
    let settings: RedisSettings
    let options: Options
    let logger: Logger
    /// Appends, holds and the reader's maintenance (one owner thread).
    let client: RedisClient
    /// The reader's blocking XREAD, apart so it never delays an append.
    let readerClient: RedisClient
    let state: Mutex<State>

    private init(
        app: String, epoch: String, settings: RedisSettings, options: Options, logger: Logger,
        client: RedisClient, readerClient: RedisClient, acked: UInt64
    ) {
        self.app = app
        self.epoch = epoch
        self.keys = RedisStreamKeys(app: app)
        self.settings = settings
        self.options = options
        self.logger = logger
        self.client = client
        self.readerClient = readerClient
        self.state = Mutex(
            State(
                window: RedisStreamWindow(limit: options.maxBacklogBytes, acked: acked),
                oldestRetainedSeq: acked + 1, persistedAck: acked))
    }

    // MARK: Opening

    /// Opens the app's stream journal: takes the stream's epoch (creating it on first use),
    /// loads the unacknowledged records (and what became of held parts) and starts the reader.
    /// Throws when Redis cannot be reached or holds something that is not this journal.
    static func open(app: String, redis settings: RedisSettings, options: Options, logger: Logger) async throws
        -> RedisStreamJournal
    {
        let keys = RedisStreamKeys(app: app)
        let client = RedisClient(settings: settings, commandTimeout: options.commandTimeout)
        let readerClient = RedisClient(settings: settings, commandTimeout: options.commandTimeout)
        do {
            let replies = try await client.pipeline([
                ["SET", keys.epoch, JournalMeta.newEpoch(), "NX"], ["GET", keys.epoch], ["GET", keys.acked],
            ])
            if let message = replies.lazy.compactMap(\.errorMessage).first {
                throw RedisError.server(message: message)
            }
            guard let epoch = replies[1].string, !epoch.isEmpty else {
                throw JournalOpenError(message: "\(keys.epoch) is not a journal id: \(replies[1])")
            }
            var acked: UInt64 = 0
            if !replies[2].isNull {
                guard let text = replies[2].string, let value = UInt64(text), value <= RedisStreamEntry.maxSeq else {
                    throw JournalOpenError(message: "\(keys.acked) is not a seq: \(replies[2])")
                }
                acked = value
            }
            let journal = RedisStreamJournal(
                app: app, epoch: epoch, settings: settings, options: options, logger: logger, client: client,
                readerClient: readerClient, acked: acked)
            let cursor = try await journal.load(after: acked)
            journal.startReader(after: cursor)
            return journal
        } catch {
            await client.close()
            await readerClient.close()
            throw JournalOpenError(
                message:
                    "cannot open the Redis journal of app '\(app)' (\(keys.stream) at \(settings.server)): \(error)")
        }
    }

    /// Reads the entries after `acked` into the window; returns the position the reader goes on from.
    private func load(after acked: UInt64) async throws -> RedisStreamEntry.Position {
        // Exclusive start: markers `<acked>-<n>` are about parts at or before `acked`, done with.
        var cursor = RedisStreamEntry.Position(seq: acked, sub: UInt64.max)
        while true {
            let reply = try await client.command([
                "XRANGE", keys.stream, "(" + cursor.id, "+", "COUNT", "\(Self.readCount)",
            ])
            let parsed = RedisStreamEntry.parse(reply)
            report(state.withLock { apply(parsed.entries, unplaced: parsed.unplaced, to: &$0) })
            guard let last = parsed.entries.last?.0 else { break }
            cursor = last
            if parsed.entries.count < Self.readCount { break }
        }
        let oldest = try await oldestRecord()
        state.withLock { $0.oldestRetainedSeq = oldest ?? ($0.window.lastSeq + 1) }
        return cursor
    }

    /// The seq of the oldest record the stream still holds (nil: it holds none).
    func oldestRecord() async throws -> UInt64? {
        var start = "-"
        // Markers before the first record are skipped (a few at most: they follow their records).
        for _ in 0..<8 {
            let parsed = RedisStreamEntry.parse(
                try await client.command(["XRANGE", keys.stream, start, "+", "COUNT", "16"]))
            for (position, _) in parsed.entries where position.sub == 0 { return position.seq }
            guard let last = parsed.entries.last?.0 else { return nil }
            start = "(" + last.id
        }
        return nil
    }

    static let readCount = 1000

    // MARK: Ingress

    func reserve(_ bytes: Int) -> Result<Void, JournalRejection> {
        state.withLock { state in
            if state.closing { return .failure(.closed) }
            guard state.window.reserve(bytes) else { return .failure(.backlogFull(limit: state.window.limit)) }
            return .success(())
        }
    }

    func release(_ bytes: Int) {
        state.withLock { $0.window.release(bytes) }
    }

    func append(
        _ entries: [JournalEntry], reserved: Int, held: Bool,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void
    ) {
        var total = 0
        for entry in entries {
            let (sum, overflow) = total.addingReportingOverflow(entry.recordSize)
            total = overflow ? Int.max : sum
        }
        let admission: Result<Admission, JournalRejection> = state.withLock { state in
            state.window.release(reserved)
            if state.closing { return .failure(.closed) }
            // Reserved room was promised: the limit is not checked again.
            if reserved != 0 { return .success(Admission(room: nil, inFlight: 0)) }
            // Until Redis answers, the whole request takes room (duplicates too): concurrent
            // appends of this instance cannot pass the limit together.
            if state.window.reserve(total) { return .success(Admission(room: nil, inFlight: total)) }
            // Does not fit whole: only the fresh records count, which the script knows.
            return .success(Admission(room: max(0, state.window.room), inFlight: 0))
        }
        switch admission {
        case .failure(let rejection):
            completion(.failure(rejection))
        case .success(let admission):
            if entries.isEmpty {
                state.withLock { $0.window.release(admission.inFlight) }
                return completion(.success(AppendReceipt(appended: 0, duplicates: 0)))
            }
            enqueue(
                QueuedAppend(
                    entries: entries, held: held, admission: admission, completion: completion,
                    started: .now))
        }
    }

    struct Admission: Sendable {
        /// The bytes the fresh records may take (nil: no limit to check in Redis).
        var room: Int?
        /// Room reserved for the request while it is in flight.
        var inFlight: Int
    }

    // MARK: Forwarding

    func setDurableListener(_ listener: (@Sendable () -> Void)?) {
        state.withLock { $0.onDurable = listener }
    }

    var ackedSeqNow: UInt64 { state.withLock { $0.window.ackedSeq } }

    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [ForwardRecord] {
        state.withLock { $0.window.records(from: seq, maxCount: maxCount, maxBytes: maxBytes) }
    }

    /// In memory at once; the reader persists it (max semantics) and trims behind it.
    func acknowledge(_ seq: UInt64) {
        state.withLock { $0.window.acknowledge(seq) }
    }

    func rewind(to seq: UInt64, completion: @escaping @Sendable (RewindOutcome) -> Void) {
        let closed: UInt64? = state.withLock { state in
            guard !state.closing else { return state.window.ackedSeq }
            state.rewinds.append(PendingRewind(target: seq, completion: completion))
            return nil
        }
        if let closed { completion(RewindOutcome(acked: closed, gap: nil)) }
    }

    func snapshot() -> JournalSnapshot {
        state.withLock { state in
            JournalSnapshot(
                epoch: epoch, lastSeq: state.window.lastSeq, durableSeq: state.window.lastSeq,
                ackedSeq: state.window.ackedSeq, backlogMessages: state.window.count,
                // One stream stands where the file journal counts its segment files.
                backlogBytes: state.window.bytes, segments: 1, appendedTotal: state.appendedTotal,
                duplicatesTotal: state.duplicatesTotal, skippedTotal: state.skippedTotal,
                oldestRetainedSeq: state.oldestRetainedSeq)
        }
    }

    /// Refuses later appends and stops the reader (which persists the acknowledged seq first);
    /// returns at once. `finish()` waits for it.
    func close() {
        state.withLock { $0.closing = true }
    }

    /// Closes and waits until the reader has persisted the acknowledged seq and the clients are closed.
    func finish() async {
        close()
        await state.withLock { $0.reader }?.value
    }

    // MARK: Messages

    /// A Redis failure as the 503's reason: what failed and what the operator checks.
    func storageReason(_ error: any Error) -> String {
        "Redis journal \(keys.stream) at \(settings.server): \(error); nothing is acknowledged until Redis takes "
            + "it (is Redis up? check the app's redis settings)"
    }
}
