import Histogram

/// Medians across runs, percentiles within a run (hdrhistogram, microsecond resolution).
enum Stats {
    static func median(_ values: [Double]) -> Double {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// A histogram of nanosecond samples recorded in microseconds (values up to 1 h).
    static func histogram(_ nanos: [UInt64]) -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000,
            numberOfSignificantValueDigits: .three)
        for value in nanos { _ = histogram.record(max(1, value / 1000)) }
        return histogram
    }

    /// Percentile in milliseconds.
    static func millis(_ histogram: Histogram<UInt64>, _ percentile: Double) -> Double {
        histogram.totalCount == 0 ? .nan : Double(histogram.valueAtPercentile(percentile)) / 1000
    }
}
