import NIOCore
import Shared

/// What one journal holds in memory: the records the worker has not acknowledged yet (in seq
/// order, for forwarding), where seq stands (next, durable, acknowledged), the room they take
/// against `max_backlog_bytes`, and the idempotency keys of recent messages.
///
/// A value: it decides what an append, a read or an ack does, and does no I/O. The file journal
/// keeps it under its lock and queues the records `admit` hands back for its writer.
struct JournalBacklog: Sendable {
    /// The answer to an append: refused whole, or the fresh entries with their seq.
    enum Admission: Equatable, Sendable {
        case refused(limit: Int)
        case admitted(records: [JournalRecord], receipt: AppendReceipt)
    }

    /// `max_backlog_bytes`: on-disk bytes of unacknowledged records plus reservations.
    let limit: Int
    /// The seq the next admitted record gets.
    private(set) var nextSeq: UInt64
    /// Everything up to here is on disk (per the fsync policy) and may be forwarded.
    private(set) var durableSeq: UInt64
    /// The worker applied everything up to here (cumulative).
    private(set) var ackedSeq: UInt64
    /// On-disk bytes of the unacknowledged records.
    private(set) var bytes = 0
    /// Room set aside for appends that must not fail for lack of room.
    private(set) var reservedBytes = 0
    private(set) var appendedTotal: UInt64 = 0
    private(set) var duplicatesTotal: UInt64 = 0
    private(set) var recent: RecentIDIndex
    /// The accept time of the newest record: stamps never go back, whatever the wall clock does.
    private(set) var lastAt: Int64
    // Seqs ackedSeq + 1 ..< nextSeq, oldest first.
    private var held = CircularBuffer<UnacknowledgedRecord>()
    /// Seq ranges of multi-app appends waiting for the other journals (in seq order): durable but
    /// not forwarded; forwarding stops before the first.
    private(set) var holds: [ClosedRange<UInt64>] = []

    /// A backlog resumed from disk: `unacknowledged` are the records after `acked`, all durable,
    /// ending at `nextSeq - 1`; `lastAt` the newest accept time the journal holds (0 if none).
    init(
        limit: Int, nextSeq: UInt64, acked: UInt64, unacknowledged: [JournalRecord], recent: RecentIDIndex,
        lastAt: Int64 = 0, voids: [ClosedRange<UInt64>] = []
    ) {
        precondition(nextSeq >= 1 && acked < nextSeq, "seq cursors out of order")
        self.limit = limit
        self.nextSeq = nextSeq
        self.durableSeq = nextSeq - 1
        self.ackedSeq = acked
        self.recent = recent
        self.lastAt = lastAt
        held.reserveCapacity(unacknowledged.count)
        for record in unacknowledged {
            let voided = voids.contains { $0.contains(record.seq) }
            held.append(
                UnacknowledgedRecord(at: record.at, envelope: record.envelope, size: record.encodedSize, voided: voided)
            )
            bytes += record.encodedSize
        }
    }

    /// Unacknowledged records held.
    var count: Int { held.count }
    var lastSeq: UInt64 { nextSeq - 1 }

    // A subtraction: `bytes` and `reservedBytes` are never negative, so unlike a sum it cannot
    // overflow whatever size a caller asks for.
    private func fits(_ extra: Int) -> Bool { extra <= limit - bytes - reservedBytes }

    // MARK: Appending

    /// Sets `amount` bytes aside; false (and nothing set aside) when that would pass the limit.
    mutating func reserve(_ amount: Int) -> Bool {
        guard amount >= 0, fits(amount) else { return false }
        reservedBytes += amount
        return true
    }

    /// Gives reserved room back; never more than was reserved.
    mutating func release(_ amount: Int) {
        reservedBytes -= min(max(amount, 0), reservedBytes)
    }

    /// Decides an append: entries whose key is known (journaled before, or earlier in the same
    /// call) are duplicates; the fresh ones get consecutive seqs, all or none. When the caller
    /// reserved room for them beforehand (`roomReserved`, already released) the limit is not
    /// checked again: that room was promised. `now` (unix ms) stamps the fresh records: never
    /// below the previous stamp (a wall clock stepped back does not reorder the rules' clock) and
    /// always inside the range a frame may carry.
    mutating func admit(_ entries: [JournalEntry], roomReserved: Bool, now: Int64) -> Admission {
        var fresh: [JournalEntry] = []
        fresh.reserveCapacity(entries.count)
        var freshBytes = 0
        if roomReserved || fits(entries.reduce(0) { $0 + $1.recordSize }) {
            // Room for every entry, so nothing can be refused: each key is looked up once, and
            // remembered as it goes (a key twice in the call is a duplicate the second time).
            for entry in entries where recent.insert(entry.key) {
                fresh.append(entry)
                freshBytes += entry.recordSize
            }
        } else {
            var seen: Set<String> = []
            for entry in entries where !recent.contains(entry.key) && seen.insert(entry.key).inserted {
                fresh.append(entry)
                freshBytes += entry.recordSize
            }
            if !fresh.isEmpty, !fits(freshBytes) {
                return .refused(limit: limit)
            }
            for entry in fresh { recent.insert(entry.key) }
        }
        var admitted: [JournalRecord] = []
        admitted.reserveCapacity(fresh.count)
        let at = max(lastAt, min(max(now, DeliveryFrame.atRange.lowerBound), DeliveryFrame.atRange.upperBound))
        if !fresh.isEmpty { lastAt = at }
        for entry in fresh {
            admitted.append(JournalRecord(seq: nextSeq, at: at, key: entry.key, envelope: entry.envelope))
            held.append(UnacknowledgedRecord(at: at, envelope: entry.envelope, size: entry.recordSize))
            nextSeq += 1
        }
        bytes += freshBytes
        let duplicates = entries.count - admitted.count
        appendedTotal += UInt64(admitted.count)
        duplicatesTotal += UInt64(duplicates)
        return .admitted(records: admitted, receipt: AppendReceipt(appended: admitted.count, duplicates: duplicates))
    }

    /// The writer made everything up to `seq` durable.
    mutating func durable(through seq: UInt64) {
        durableSeq = max(durableSeq, min(seq, lastSeq))
    }

    // MARK: Forwarding

    /// Durable, unacknowledged records from `seq` on (or from the first unacknowledged one), at
    /// most `maxCount` of them, stopping once `maxBytes` of envelopes are reached.
    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [ForwardRecord] {
        held.forwardRecords(
            from: seq, ackedSeq: ackedSeq, through: forwardableSeq, maxCount: maxCount, maxBytes: maxBytes)
    }

    /// The last seq forwarding may send: durable, and before the first held record.
    var forwardableSeq: UInt64 {
        guard let hold = holds.first else { return durableSeq }
        return min(durableSeq, hold.lowerBound - 1)
    }

    /// The worker applied everything up to `seq`; an ack beyond what was forwardable counts up to
    /// there only (a worker cannot have seen more).
    mutating func acknowledge(_ seq: UInt64) {
        let target = min(seq, forwardableSeq)
        while ackedSeq < target {
            bytes -= held.removeFirst().size
            ackedSeq += 1
        }
    }

    /// The writer could not make the records from `seq` on durable (disk full, I/O error): they
    /// are taken back, as if never admitted: `nextSeq` returns to `seq` (no seq gap reaches the
    /// worker), their room and their keys (`keys`, in admission order) are given back, so the
    /// senders' retries are appended anew. Only records past `durableSeq` can be taken back.
    mutating func rollBack(from seq: UInt64, keys: [String]) {
        guard seq > durableSeq, seq < nextSeq else { return }
        let count = nextSeq - seq
        for _ in 0..<count { bytes -= held.removeLast().size }
        nextSeq = seq
        appendedTotal -= min(appendedTotal, count)
        for key in keys { recent.remove(key) }
        holds.removeAll { $0.lowerBound >= seq }
    }

    // MARK: Multi-app appends (all or nothing across journals)

    /// Holds the records of `range` (just admitted): durable in time, but not forwarded until
    /// released or voided.
    mutating func hold(_ range: ClosedRange<UInt64>) {
        guard range.lowerBound > ackedSeq, range.upperBound < nextSeq else { return }
        holds.append(range)
        holds.sort { $0.lowerBound < $1.lowerBound }
    }

    /// Every journal of the request made its part durable: forward it.
    mutating func release(_ range: ClosedRange<UInt64>) {
        holds.removeAll { $0 == range }
    }

    /// Another journal of the request failed: the records of `range` are not messages any more.
    /// They stay in seq order (a seq is never reused) but are forwarded as a void gap, and their
    /// keys (`keys`) are given back so the sender's retry is appended anew. The caller made the
    /// void marker durable first (a restart must not forward them as messages once the keys were
    /// given back).
    mutating func void(_ range: ClosedRange<UInt64>, keys: [String]) {
        release(range)
        guard range.upperBound < nextSeq else { return }
        let start = max(range.lowerBound, ackedSeq + 1)
        if start <= range.upperBound {
            var index = held.index(held.startIndex, offsetBy: Int(start - ackedSeq - 1))
            for _ in start...range.upperBound {
                held[index].voided = true
                index = held.index(after: index)
            }
        }
        for key in keys { recent.remove(key) }
    }

    // MARK: Replaying what a worker lost

    /// The worker's Redis lost writes: it stands at `records.first.seq - 1`, below `ackedSeq`.
    /// `records` (read back from the retained segments) are the acknowledged ones after it, up to
    /// `ackedSeq`, consecutive; they go back in front of the backlog and are forwarded again.
    /// False (and nothing changed) when they are not exactly that range.
    mutating func rewind(_ records: [JournalRecord], voids: [ClosedRange<UInt64>] = []) -> Bool {
        guard let first = records.first, let last = records.last, first.seq >= 1, last.seq == ackedSeq,
            last.seq - first.seq + 1 == UInt64(records.count)
        else { return false }
        for record in records.reversed() {
            let voided = voids.contains { $0.contains(record.seq) }
            held.prepend(
                UnacknowledgedRecord(at: record.at, envelope: record.envelope, size: record.encodedSize, voided: voided)
            )
            bytes += record.encodedSize
        }
        ackedSeq = first.seq - 1
        return true
    }
}

/// One durable record on its way to the worker.
struct ForwardRecord: Sendable, Equatable {
    var seq: UInt64
    /// Nil for a record of journal format 1 (its frame has no `at`).
    var at: Int64?
    var envelope: [UInt8]
    /// Voided (a multi-app append that failed elsewhere): sent as part of a void gap line.
    var voided = false
}
