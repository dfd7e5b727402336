import Testing

@testable import Listener

/// The listener's trend samples (issue 18 item 3): a bounded ring read as rates from counter
/// deltas, with counter resets read as Prometheus reads them, and decision latency quantiles from
/// the worker's histogram, as the worker writes it.
@Suite struct TrendRingTests {
    static func sample(_ second: Int64, accepted: UInt64, applied: UInt64, latency: LatencyHistogram? = nil)
        -> TrendRing.Sample
    {
        TrendRing.Sample(time: second * 1000, accepted: accepted, applied: applied, latency: latency)
    }

    static func histogram(_ counts: [Double]) -> LatencyHistogram {
        LatencyHistogram(bounds: [0.001, 0.01, 0.1, .infinity], counts: counts)
    }

    @Test func ratesComeFromCounterDeltasOverTheInterval() {
        var ring = TrendRing(capacity: 10)
        #expect(ring.points.isEmpty)
        ring.add(Self.sample(100, accepted: 1000, applied: 900))
        #expect(ring.points.isEmpty, "one sample makes no interval")
        ring.add(Self.sample(105, accepted: 1050, applied: 950))
        ring.add(Self.sample(110, accepted: 1050, applied: 1000))
        let points = ring.points
        #expect(points.map(\.time) == [105_000, 110_000])
        #expect(points.map(\.acceptedPerSecond) == [10, 0])
        #expect(points.map(\.appliedPerSecond) == [10, 10])
    }

    @Test func aCounterThatWentDownStartedAgainFromZero() {
        var ring = TrendRing(capacity: 10)
        ring.add(Self.sample(0, accepted: 500, applied: 500))
        // The link reconnected: its acknowledged count restarted, and 20 came since.
        ring.add(Self.sample(10, accepted: 600, applied: 20))
        #expect(ring.points.first?.appliedPerSecond == 2)
        #expect(ring.points.first?.acceptedPerSecond == 10)
        #expect(TrendRing.increase(from: 7, to: 3) == 3)
    }

    @Test func theRingKeepsOnlyTheNewestSamples() {
        var ring = TrendRing(capacity: 4)
        for second in 0..<11 { ring.add(Self.sample(Int64(second), accepted: UInt64(second * 2), applied: 0)) }
        #expect(ring.samples.map(\.time) == [7000, 8000, 9000, 10000], "oldest first, bounded")
        #expect(ring.points.count == 3)
        #expect(ring.points.allSatisfy { $0.acceptedPerSecond == 2 })
        #expect(TrendRing(capacity: 0).capacity == 2, "a ring makes at least one point")
    }

    @Test func aClockSetBackMakesNoPoint() {
        var ring = TrendRing(capacity: 5)
        ring.add(Self.sample(100, accepted: 0, applied: 0))
        ring.add(Self.sample(90, accepted: 10, applied: 10))
        ring.add(Self.sample(95, accepted: 20, applied: 20))
        #expect(ring.points.map(\.time) == [95_000])
    }

    @Test func latencyIsTheQuantileOfWhatTheIntervalCounted() throws {
        var ring = TrendRing(capacity: 5)
        ring.add(Self.sample(0, accepted: 0, applied: 0, latency: Self.histogram([100, 100, 100, 100])))
        // 100 more decisions: 50 under 1 ms, 49 in 1...10 ms, 1 in 10...100 ms.
        ring.add(Self.sample(5, accepted: 100, applied: 100, latency: Self.histogram([150, 199, 200, 200])))
        let point = try #require(ring.points.first)
        #expect(point.latencyP50 == 0.001)
        let p99 = try #require(point.latencyP99)
        #expect(abs(p99 - 0.01) < 1e-9, "the 99th of 100 is the last of the 1...10 ms bucket: \(p99)")
        // No decision in the next interval, then a worker that did not answer: no latency.
        ring.add(Self.sample(10, accepted: 100, applied: 100, latency: Self.histogram([150, 199, 200, 200])))
        ring.add(Self.sample(15, accepted: 100, applied: 100, latency: nil))
        ring.add(Self.sample(20, accepted: 100, applied: 100, latency: Self.histogram([2, 2, 2, 2])))
        #expect(ring.points.dropFirst().allSatisfy { $0.latencyP50 == nil && $0.latencyP99 == nil })
    }

    @Test func aRestartedWorkersHistogramCountsFromZero() throws {
        let before = Self.histogram([100, 100, 100, 100])
        let restarted = Self.histogram([0, 4, 4, 4])
        #expect(restarted.since(before) == restarted)
        #expect(try #require(restarted.since(before).quantile(0.5)) > 0.001)
        // Beyond the last finite bound the histogram knows only that bound.
        #expect(Self.histogram([0, 0, 0, 3]).quantile(0.5) == 0.1)
        #expect(Self.histogram([0, 0, 0, 0]).quantile(0.5) == nil)
    }

    @Test func theWorkersExpositionParses() throws {
        let text = """
            # TYPE mimic_decision_accept_to_commit_seconds histogram
            mimic_decision_accept_to_commit_seconds_bucket{app="shop",le="0.0005"} 3
            mimic_decision_accept_to_commit_seconds_bucket{app="shop",le="0.001"} 7
            mimic_decision_accept_to_commit_seconds_bucket{app="shop",le="+Inf"} 9
            mimic_decision_accept_to_commit_seconds_sum{app="shop"} 0.02
            mimic_decision_accept_to_commit_seconds_count{app="shop"} 9
            # TYPE mimic_redis_commit_seconds histogram
            mimic_redis_commit_seconds_bucket{app="shop",le="0.0005"} 1
            mimic_redis_commit_seconds_bucket{app="shop",le="+Inf"} 1
            """
        let parsed = try #require(LatencyHistogram.parse(text, family: "mimic_decision_accept_to_commit_seconds"))
        #expect(parsed.bounds == [0.0005, 0.001, .infinity])
        #expect(parsed.counts == [3, 7, 9])
        #expect(LatencyHistogram.parse(text, family: "mimic_nothing_seconds") == nil)
        #expect(LatencyHistogram.parse("x_bucket{le=\"0.1\"} 1", family: "x") == nil, "no +Inf bucket")
    }
}
