/// How long acknowledged records stay on disk (`journal_retain`, `journal_retain_bytes`,
/// DESIGN section 10): a worker whose Redis lost writes asks for them again in its hello, so they
/// are kept until every record of their segment is older than `retainMs` by accept time, or until
/// the acknowledged segments kept take more than `maxBytes`, whichever comes first.
struct JournalRetention: Sendable, Equatable {
    /// `journal_retain` in ms; 0 deletes a segment as soon as all of it is acknowledged.
    var retainMs: Int64
    /// `journal_retain_bytes`: the most bytes of fully acknowledged segments kept for replay.
    var maxBytes: Int

    static let standard = JournalRetention(retainMs: 15 * 60 * 1000, maxBytes: 1 << 30)

    /// How many of the oldest `segments` to delete at `now` (unix ms), given the acknowledged seq
    /// `meta.json` holds: only whole segments that are fully acknowledged (never the active one),
    /// oldest first, while the oldest is expired or the kept bytes pass the cap.
    func releasable(_ segments: [JournalSegment], acked: UInt64, now: Int64) -> Int {
        let candidates = AckCursor.releasable(segments, acked: acked)
        guard candidates > 0 else { return 0 }
        var keptBytes = 0
        for segment in segments.prefix(candidates) { keptBytes += segment.size }
        // Saturating: a clock near Int64's edge must not trap (accept times are bounded anyway).
        let (cutoff, overflow) = now.subtractingReportingOverflow(retainMs)
        var count = 0
        while count < candidates {
            let segment = segments[count]
            let expired = !overflow && segment.newestAt <= cutoff
            guard expired || keptBytes > maxBytes else { break }
            keptBytes -= segment.size
            count += 1
        }
        return count
    }
}
