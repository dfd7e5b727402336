/// The acknowledged seq on its way to `meta.json`: when to write it again, and which segments a
/// written ack frees.
///
/// `meta.json` is fsynced and renamed on every write, so it is written at most every 200 ms while
/// messages flow, at once when the journal is idle or stopping; a crash in between only makes the
/// worker see some frames again, which it acknowledges without applying (DESIGN section 5).
struct AckCursor: Sendable {
    static let interval: Duration = .milliseconds(200)

    /// The acknowledged seq `meta.json` holds.
    private(set) var persisted: UInt64
    private(set) var lastWrite: ContinuousClock.Instant

    init(persisted: UInt64, now: ContinuousClock.Instant) {
        self.persisted = persisted
        self.lastWrite = now
    }

    /// Whether `acked` should be written now; `idle`: the writer had nothing else to write.
    func isDue(acked: UInt64, now: ContinuousClock.Instant, idle: Bool, stopping: Bool) -> Bool {
        acked > persisted && (stopping || idle || now - lastWrite > Self.interval)
    }

    mutating func wrote(_ acked: UInt64, at now: ContinuousClock.Instant) {
        persisted = acked
        lastWrite = now
    }

    /// How many of the oldest `segments` hold only records up to `acked` and can be deleted; the
    /// last (active) segment never is.
    static func releasable(_ segments: [JournalSegment], acked: UInt64) -> Int {
        var count = 0
        // A segment ends where the next one starts; names are > 0 (see SegmentRecovery).
        while count + 1 < segments.count, segments[count].firstSeq <= acked, segments[count + 1].firstSeq - 1 <= acked {
            count += 1
        }
        return count
    }
}
