import NIOCore

/// What a stream journal holds in memory: the durable records after the acknowledged seq, in seq
/// order, whoever appended them (this instance or another one on the same stream), with the
/// held parts of multi-app appends, and the room they take against `max_backlog_bytes`.
///
/// Unlike `JournalBacklog` it assigns no seqs: Redis does (the append script), and records come
/// in already numbered and durable. A value, no I/O; the journal keeps it under its lock.
struct RedisStreamWindow: Sendable {
    let limit: Int
    /// The worker applied everything up to here.
    private(set) var ackedSeq: UInt64
    /// Every record up to here is in the window (or acknowledged): forwarding may send them.
    private(set) var lastSeq: UInt64
    private(set) var bytes = 0
    private(set) var reservedBytes = 0
    /// Held parts (in seq order): not forwarded until released or voided.
    private(set) var holds: [ClosedRange<UInt64>] = []
    // Seqs ackedSeq + 1 ... lastSeq, oldest first.
    private var pending = CircularBuffer<UnacknowledgedRecord>()

    init(limit: Int, acked: UInt64) {
        self.limit = limit
        self.ackedSeq = acked
        self.lastSeq = acked
    }

    var count: Int { pending.count }

    /// The room left, as a subtraction that cannot overflow (`bytes`, `reservedBytes` ≥ 0).
    var room: Int { limit - bytes - reservedBytes }

    mutating func reserve(_ amount: Int) -> Bool {
        guard amount >= 0, amount <= room else { return false }
        reservedBytes += amount
        return true
    }

    mutating func release(_ amount: Int) {
        reservedBytes -= min(max(amount, 0), reservedBytes)
    }

    // MARK: Filling

    enum Placement: Equatable {
        case added
        /// Already in the window (read twice: by the append and by the stream reader).
        case known
        /// Seqs between the window's end and this record are missing from the stream: they were
        /// added as void placeholders (forwarded as a void gap), then the record.
        case addedAfterHole(ClosedRange<UInt64>)
        /// Further than `maxHole` past the window's end: not added.
        case tooFar
    }

    /// The most seqs a hole may span: a record claiming to be further ahead is not one this
    /// journal appended (its script never skips a seq), and filling the hole would take memory
    /// without bound.
    static let maxHole: UInt64 = 100_000

    /// Adds the durable record `seq`; `hold`: the held part it opens.
    mutating func add(_ record: JournalRecord, hold: ClosedRange<UInt64>?) -> Placement {
        guard record.seq > lastSeq else { return .known }
        guard record.seq - lastSeq <= Self.maxHole else { return .tooFar }
        var placement = Placement.added
        if record.seq > lastSeq + 1 {
            let hole = (lastSeq + 1)...(record.seq - 1)
            placement = .addedAfterHole(hole)
            while lastSeq + 1 < record.seq { addPlaceholder() }
        }
        if let hold, hold.lowerBound == record.seq { self.hold(hold) }
        pending.append(
            UnacknowledgedRecord(at: record.at, envelope: record.envelope, size: record.encodedSize, voided: false))
        bytes += record.encodedSize
        lastSeq = record.seq
        return placement
    }

    /// A seq whose entry could not be read: forwarded as a void gap so the worker never stalls.
    mutating func addPlaceholder(seq: UInt64) {
        guard seq > lastSeq, seq - lastSeq <= Self.maxHole else { return }
        while lastSeq < seq { addPlaceholder() }
    }

    private mutating func addPlaceholder() {
        pending.append(UnacknowledgedRecord(at: nil, envelope: [], size: 0, voided: true))
        lastSeq += 1
    }

    // MARK: Forwarding

    var forwardableSeq: UInt64 {
        guard let hold = holds.first else { return lastSeq }
        return min(lastSeq, hold.lowerBound - 1)
    }

    func records(from seq: UInt64, maxCount: Int, maxBytes: Int) -> [ForwardRecord] {
        pending.forwardRecords(
            from: seq, ackedSeq: ackedSeq, through: forwardableSeq, maxCount: maxCount, maxBytes: maxBytes)
    }

    /// Cumulative; never past what was forwardable (a worker cannot have seen more).
    mutating func acknowledge(_ seq: UInt64) {
        let target = min(seq, forwardableSeq)
        while ackedSeq < target {
            bytes -= pending.removeFirst().size
            ackedSeq += 1
        }
    }

    // MARK: Held parts

    /// The accept time of a held part's first record, while it is held here.
    func holdStart(_ range: ClosedRange<UInt64>) -> Int64? {
        guard holds.contains(range), range.lowerBound > ackedSeq, range.lowerBound <= lastSeq else { return nil }
        return pending[pending.index(pending.startIndex, offsetBy: Int(range.lowerBound - ackedSeq - 1))].at
    }

    mutating func hold(_ range: ClosedRange<UInt64>) {
        guard range.lowerBound > ackedSeq, !holds.contains(range) else { return }
        holds.append(range)
        holds.sort { $0.lowerBound < $1.lowerBound }
    }

    mutating func release(_ range: ClosedRange<UInt64>) {
        holds.removeAll { $0 == range }
    }

    /// The part's records stay in seq order but are forwarded as a void gap.
    mutating func void(_ range: ClosedRange<UInt64>) {
        release(range)
        let from = max(range.lowerBound, ackedSeq + 1)
        let to = min(range.upperBound, lastSeq)
        guard from <= to else { return }
        var index = pending.index(pending.startIndex, offsetBy: Int(from - ackedSeq - 1))
        for _ in from...to {
            pending[index].voided = true
            index = pending.index(after: index)
        }
    }

    // MARK: Replaying what a worker lost

    /// Puts acknowledged records back in front: `records` must be exactly the seqs after some
    /// `n` up to `ackedSeq`; `voids` marks the voided ones. False (nothing changed) otherwise.
    mutating func rewind(_ records: [JournalRecord?], from first: UInt64, voids: [ClosedRange<UInt64>]) -> Bool {
        guard first >= 1, !records.isEmpty, first - 1 + UInt64(records.count) == ackedSeq else { return false }
        for (offset, record) in records.enumerated().reversed() {
            let seq = first + UInt64(offset)
            guard let record else {
                pending.prepend(UnacknowledgedRecord(at: nil, envelope: [], size: 0, voided: true))
                continue
            }
            let voided = voids.contains { $0.contains(seq) }
            pending.prepend(
                UnacknowledgedRecord(at: record.at, envelope: record.envelope, size: record.encodedSize, voided: voided)
            )
            bytes += record.encodedSize
        }
        ackedSeq = first - 1
        return true
    }
}
