import Metrics

/// Where a journal reports how long its disk work takes (issue 18 item 1): one batch of appends
/// written (encoding, `write(2)`, the fsyncs the policy asks for), and each fsync alone. Both are
/// recorded on the journal's writer thread, once per batch or per fsync, never per message.
struct JournalTimings: Sendable {
    var append: Metrics.Timer
    var fsync: Metrics.Timer
}
