/// One app's durable journal as ingress and forwarding see it: messages go in (all or none,
/// deduplicated by key), come out in seq order once durable, and leave when the worker
/// acknowledges them. Two backends: `FileJournal` (segment files, the default) and
/// `RedisStreamJournal` (a Redis stream shared by several listener instances); ingress and
/// forwarding do not know which one they have.
protocol Journal: AnyObject, Sendable {
    /// The journal id carried by every delivery frame (DESIGN section 5).
    var epoch: String { get }

    // MARK: Ingress

    /// Sets aside backlog room for an append that must not fail for lack of room (one request
    /// with messages for several apps).
    func reserve(_ bytes: Int) -> Result<Void, JournalRejection>
    /// Gives back room from `reserve` that will not be appended.
    func release(_ bytes: Int)
    /// Appends the entries, all or none, releasing `reserved` bytes from `reserve`; `completion`
    /// runs once they are durable. Entries whose key is already journaled are answered as
    /// accepted and not appended again. `held`: one part of a multi-app append; its records are
    /// not forwarded until `releaseHold` (or `void`) of the receipt's `held` range.
    func append(
        _ entries: [JournalEntry], reserved: Int, held: Bool,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void)
    /// Every journal of a multi-app append made its part durable: forward this part.
    func releaseHold(_ range: ClosedRange<UInt64>)
    /// Another journal of a multi-app append failed: this part becomes a void range (a durable
    /// marker first, then its keys are given back and it is forwarded as a void gap).
    /// `completion(false)`: the marker could not be written, so the part was released instead
    /// (its sender's retry is then deduplicated by key: the effect is still once).
    func void(_ range: ClosedRange<UInt64>, completion: @escaping @Sendable (Bool) -> Void)
    func snapshot() -> JournalSnapshot
    /// Writes what is queued and stops; later appends are refused as `.closed`.
    func close()
    /// Closes and waits until what the journal keeps outside the process (the stream journal's
    /// acknowledged seq in Redis) is written.
    func finish() async

    // MARK: Forwarding

    /// Called (off any event loop) whenever new records became durable.
    func setDurableListener(_ listener: (@Sendable () -> Void)?)
    var ackedSeqNow: UInt64 { get }
    /// Durable, unacknowledged records from `seq` on (or from the first unacknowledged one).
    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [ForwardRecord]
    /// The worker has applied everything up to `seq` (cumulative).
    func acknowledge(_ seq: UInt64)
    /// The worker's hello says it stands at `seq` of this epoch, below the acknowledged seq (its
    /// Redis lost writes): the acknowledged records after `seq` are read back from the retained
    /// segments (off any event loop) and become unacknowledged again; those no longer retained are
    /// reported as a gap. `completion` runs once the backlog was rewound, on the journal's thread.
    func rewind(to seq: UInt64, completion: @escaping @Sendable (RewindOutcome) -> Void)
}

/// What a rewind did: forwarding resumes after `acked`, and `gap` (when set) goes to the worker
/// first as a gap line: those seqs are gone from the journal (older than `journal_retain`).
struct RewindOutcome: Sendable, Equatable {
    var acked: UInt64
    var gap: ClosedRange<UInt64>?
}

extension Journal {
    func finish() async { close() }

    func append(
        _ entries: [JournalEntry], reserved: Int = 0,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void
    ) {
        append(entries, reserved: reserved, held: false, completion: completion)
    }

    func append(_ entries: [JournalEntry], reserved: Int = 0, held: Bool = false) async -> Result<
        AppendReceipt, JournalRejection
    > {
        await withCheckedContinuation { continuation in
            append(entries, reserved: reserved, held: held) { continuation.resume(returning: $0) }
        }
    }

    func void(_ range: ClosedRange<UInt64>) async -> Bool {
        await withCheckedContinuation { continuation in
            void(range) { continuation.resume(returning: $0) }
        }
    }
}

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
    /// The seqs a held append holds (nil when it appended nothing, or was not held).
    var held: ClosedRange<UInt64>? = nil
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
    /// Seqs a worker asked for that the journal no longer had (sent as gap lines), since start.
    var skippedTotal: UInt64 = 0
    /// The oldest seq still on disk (acknowledged records are kept for `journal_retain`).
    var oldestRetainedSeq: UInt64 = 1
}
