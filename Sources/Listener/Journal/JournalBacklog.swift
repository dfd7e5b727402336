import NIOCore

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

    private struct Unacknowledged: Sendable {
        var envelope: [UInt8]
        var size: Int
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
    // Seqs ackedSeq + 1 ..< nextSeq, oldest first.
    private var held = CircularBuffer<Unacknowledged>()

    /// A backlog resumed from disk: `unacknowledged` are the records after `acked`, all durable,
    /// ending at `nextSeq - 1`.
    init(limit: Int, nextSeq: UInt64, acked: UInt64, unacknowledged: [JournalRecord], recent: RecentIDIndex) {
        precondition(nextSeq >= 1 && acked < nextSeq, "seq cursors out of order")
        self.limit = limit
        self.nextSeq = nextSeq
        self.durableSeq = nextSeq - 1
        self.ackedSeq = acked
        self.recent = recent
        held.reserveCapacity(unacknowledged.count)
        for record in unacknowledged {
            held.append(Unacknowledged(envelope: record.envelope, size: record.encodedSize))
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
    /// checked again: that room was promised.
    mutating func admit(_ entries: [JournalEntry], roomReserved: Bool) -> Admission {
        var fresh: [JournalEntry] = []
        fresh.reserveCapacity(entries.count)
        var freshBytes = 0
        var seen: Set<String> = []
        for entry in entries where !recent.contains(entry.key) && seen.insert(entry.key).inserted {
            fresh.append(entry)
            freshBytes += entry.recordSize
        }
        if !fresh.isEmpty, !roomReserved, !fits(freshBytes) {
            return .refused(limit: limit)
        }
        var admitted: [JournalRecord] = []
        admitted.reserveCapacity(fresh.count)
        for entry in fresh {
            recent.insert(entry.key)
            admitted.append(JournalRecord(seq: nextSeq, key: entry.key, envelope: entry.envelope))
            held.append(Unacknowledged(envelope: entry.envelope, size: entry.recordSize))
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
    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [(seq: UInt64, envelope: [UInt8])] {
        let first = max(seq, ackedSeq + 1)
        guard first <= durableSeq else { return [] }
        var result: [(seq: UInt64, envelope: [UInt8])] = []
        var taken = 0
        var current = first
        var index = held.index(held.startIndex, offsetBy: Int(first - ackedSeq - 1))
        while current <= durableSeq, result.count < maxCount, taken < maxBytes {
            let record = held[index]
            result.append((current, record.envelope))
            taken += record.envelope.count
            current += 1
            index = held.index(after: index)
        }
        return result
    }

    /// The worker applied everything up to `seq`; an ack beyond what is durable counts up to
    /// the durable seq only (a worker cannot have seen more).
    mutating func acknowledge(_ seq: UInt64) {
        let target = min(seq, durableSeq)
        while ackedSeq < target {
            bytes -= held.removeFirst().size
            ackedSeq += 1
        }
    }
}
