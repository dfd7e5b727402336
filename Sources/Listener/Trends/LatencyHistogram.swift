import Foundation

/// The cumulative buckets of one histogram as a worker exposes it (Prometheus text), and the
/// quantiles of what it counted between two readings: the decision latency of one trend interval.
struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in seconds, ascending, the last `.infinity` (`le="+Inf"`).
    var bounds: [Double]
    /// Observations at or below each bound, since the worker started.
    var counts: [Double]

    /// The buckets of `family` (e.g. `mimic_decision_accept_to_commit_seconds`) in an
    /// exposition of one app; nil when it has none or they do not end with `+Inf`.
    static func parse(_ exposition: String, family: String) -> LatencyHistogram? {
        let prefix = family + "_bucket{"
        var buckets: [(Double, Double)] = []
        for line in exposition.split(separator: "\n") where line.hasPrefix(prefix) {
            guard let leStart = line.range(of: "le=\"")?.upperBound,
                let leEnd = line[leStart...].firstIndex(of: "\""),
                let space = line.lastIndex(of: " "),
                let count = Double(line[line.index(after: space)...])
            else { continue }
            let text = line[leStart..<leEnd]
            guard let bound = text == "+Inf" ? Double.infinity : Double(text) else { continue }
            buckets.append((bound, count))
        }
        buckets.sort { $0.0 < $1.0 }
        guard let last = buckets.last, last.0 == .infinity else { return nil }
        return LatencyHistogram(bounds: buckets.map(\.0), counts: buckets.map(\.1))
    }

    var total: Double { counts.last ?? 0 }

    /// What was counted after `earlier`; everything counted, when the buckets changed or a count
    /// went down (the worker restarted, so its histogram started again from zero).
    func since(_ earlier: LatencyHistogram) -> LatencyHistogram {
        guard earlier.bounds == bounds,
            zip(counts, earlier.counts).allSatisfy({ $0 >= $1 })
        else { return self }
        return LatencyHistogram(bounds: bounds, counts: zip(counts, earlier.counts).map { $0 - $1 })
    }

    /// The `q` quantile (0...1) in seconds, interpolated inside its bucket as Prometheus'
    /// `histogram_quantile` does; nil when nothing was counted. One in the `+Inf` bucket is
    /// reported as the largest finite bound: the histogram knows no more about it.
    func quantile(_ q: Double) -> Double? {
        guard total > 0, q >= 0, q <= 1 else { return nil }
        let rank = q * total
        var below = 0.0
        for (index, count) in counts.enumerated() {
            if count >= rank && count > below {
                let lower = index == 0 ? 0 : bounds[index - 1]
                let upper = bounds[index]
                if upper == .infinity { return lower }
                return lower + (upper - lower) * (rank - below) / (count - below)
            }
            below = count
        }
        return bounds.dropLast().last
    }
}
