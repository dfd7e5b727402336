import Metrics

/// A Prometheus counter that mirrors a total kept elsewhere (swift-metrics counters only go up by
/// increments). A total that went down was reset at its source (a Redis restored from an older
/// backup, an app removed and added again): the counter is reset too, which Prometheus' `rate`
/// and `increase` read as a counter reset, as they should.
struct StateCounter {
    let counter: Metrics.Counter
    private var shown: UInt64 = 0

    init(_ counter: Metrics.Counter) {
        self.counter = counter
    }

    mutating func set(_ total: UInt64) {
        if total < shown {
            counter.reset()
            shown = 0
        }
        if total > shown { counter.increment(by: Int64(clamping: total - shown)) }
        shown = total
    }
}
