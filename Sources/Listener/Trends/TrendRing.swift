/// One app's recent samples for the page's trend charts (issue 18 item 3): bounded, oldest
/// dropped first, and read as points, one per interval between two samples, with rates from
/// counter deltas and decision latency quantiles from histogram deltas.
struct TrendRing: Sendable {
    struct Sample: Sendable, Equatable {
        /// Unix ms.
        var time: Int64
        /// Messages the journal took (appended and duplicates), since the listener started.
        var accepted: UInt64
        /// Messages the worker acknowledged, as the link counts them.
        var applied: UInt64
        /// The worker's accept-to-commit histogram; nil when the worker did not answer.
        var latency: LatencyHistogram?
    }

    struct Point: Sendable, Equatable, Codable {
        /// Unix ms at the end of the interval.
        var time: Int64
        var acceptedPerSecond: Double
        var appliedPerSecond: Double
        /// Seconds; nil when the worker took no decision in the interval or did not answer.
        var latencyP50: Double?
        var latencyP99: Double?

        enum CodingKeys: String, CodingKey {
            case time
            case acceptedPerSecond = "accepted_per_s"
            case appliedPerSecond = "applied_per_s"
            case latencyP50 = "latency_p50_s"
            case latencyP99 = "latency_p99_s"
        }
    }

    /// The most samples kept (points are one fewer).
    let capacity: Int
    private var storage: [Sample] = []
    /// Where the oldest sample is once `storage` is full.
    private var start = 0

    init(capacity: Int) {
        self.capacity = max(2, capacity)
        storage.reserveCapacity(self.capacity)
    }

    var samples: [Sample] { Array(storage[start...] + storage[..<start]) }

    mutating func add(_ sample: Sample) {
        if storage.count < capacity {
            storage.append(sample)
        } else {
            storage[start] = sample
            start = (start + 1) % capacity
        }
    }

    var points: [Point] {
        let samples = self.samples
        guard samples.count >= 2 else { return [] }
        return (1..<samples.count).compactMap { index in
            Self.point(from: samples[index - 1], to: samples[index])
        }
    }

    private static func point(from earlier: Sample, to later: Sample) -> Point? {
        // A clock set back makes no interval; the next pair does.
        guard later.time > earlier.time else { return nil }
        let seconds = Double(later.time - earlier.time) / 1000
        // Without the earlier reading the histogram's counts span the worker's life, not the interval.
        var latency: LatencyHistogram?
        if let current = later.latency, let previous = earlier.latency { latency = current.since(previous) }
        return Point(
            time: later.time,
            acceptedPerSecond: Double(increase(from: earlier.accepted, to: later.accepted)) / seconds,
            appliedPerSecond: Double(increase(from: earlier.applied, to: later.applied)) / seconds,
            latencyP50: latency?.quantile(0.5), latencyP99: latency?.quantile(0.99))
    }

    /// A counter that went down started again from zero (a reconnected link, a new journal), so
    /// all of its value is the increase since, as Prometheus' `increase` reads a reset.
    static func increase(from earlier: UInt64, to later: UInt64) -> UInt64 {
        later >= earlier ? later - earlier : later
    }
}
