/// One app's durable journal as ingress and forwarding see it: messages go in (all or none,
/// deduplicated by key), come out in seq order once durable, and leave when the worker
/// acknowledges them. `FileJournal` is the implementation; a second backend plugs in here without
/// touching ingress or forwarding.
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
    /// accepted and not appended again.
    func append(
        _ entries: [JournalEntry], reserved: Int,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void)
    func snapshot() -> JournalSnapshot
    /// Writes what is queued and stops; later appends are refused as `.closed`.
    func close()

    // MARK: Forwarding

    /// Called (off any event loop) whenever new records became durable.
    func setDurableListener(_ listener: (@Sendable () -> Void)?)
    var ackedSeqNow: UInt64 { get }
    /// Durable, unacknowledged records from `seq` on (or from the first unacknowledged one).
    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [(seq: UInt64, envelope: [UInt8])]
    /// The worker has applied everything up to `seq` (cumulative).
    func acknowledge(_ seq: UInt64)
}

extension Journal {
    func append(
        _ entries: [JournalEntry],
        completion: @escaping @Sendable (Result<AppendReceipt, JournalRejection>) -> Void
    ) {
        append(entries, reserved: 0, completion: completion)
    }

    func append(_ entries: [JournalEntry], reserved: Int = 0) async -> Result<AppendReceipt, JournalRejection> {
        await withCheckedContinuation { continuation in
            append(entries, reserved: reserved) { continuation.resume(returning: $0) }
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
