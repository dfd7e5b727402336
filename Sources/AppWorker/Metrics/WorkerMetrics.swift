import Metrics
import Prometheus
import Shared
import Synchronization

/// The worker's metrics (issue 18 item 1): swift-metrics types on a Prometheus registry of the
/// worker's own, so the socket's `metrics` op answers with exactly this app's series and a test
/// process holding several workers' code does not mix them. Names follow Prometheus practice:
/// `mimic_` prefix, base units (seconds), `_total` for counters, no executor ids as labels.
final class WorkerMetrics: Sendable {
    private let app: String
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let acceptToCommit: Metrics.Timer
    private let acceptToPublish: Metrics.Timer
    private let commitDuration: Metrics.Timer
    private let deadLetters: Metrics.Counter
    private let appliedCounters = Mutex<[String: Metrics.Counter]>([:])
    private let ejectionCounters = Mutex<[String: Metrics.Counter]>([:])
    private let executorGauges = Mutex<[String: Metrics.Gauge]>([:])
    private let hostGauges = Mutex<[String: Metrics.Gauge]>([:])

    /// Down to 0.1 ms, and fine up to 5 ms: a commit on a local Redis takes about 0.5 ms, and the
    /// alert-to-publish target (p99 2 ms, issue 15) must be readable from these buckets.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .microseconds(750), .milliseconds(1),
        .milliseconds(1500), .milliseconds(2), .milliseconds(3), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    init(app: String) {
        self.app = app
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        self.factory = factory
        let labels = [("app", app)]
        acceptToCommit = Metrics.Timer(
            label: "mimic_decision_accept_to_commit_seconds", dimensions: labels, factory: factory)
        acceptToPublish = Metrics.Timer(
            label: "mimic_decision_accept_to_publish_seconds", dimensions: labels, factory: factory)
        commitDuration = Metrics.Timer(label: "mimic_redis_commit_seconds", dimensions: labels, factory: factory)
        deadLetters = Metrics.Counter(label: "mimic_dead_letters_total", dimensions: labels, factory: factory)
    }

    /// The exposition text of every series of this worker.
    func text() -> String {
        registry.emitToString()
    }

    func commitTook(nanoseconds: Int64) {
        commitDuration.recordNanoseconds(nanoseconds)
    }

    /// Messages committed at `now` (unix ms): how long each waited since the listener accepted it
    /// (its `at`). When the commit also published a new online set (`published`), that wait is
    /// how long the brackets waited for the decision too: the PUBLISH is part of the commit script.
    func committed(acceptedAt: [Int64], now: Int64, published: Bool = false) {
        for at in acceptedAt {
            let (waited, overflow) = now.subtractingReportingOverflow(at)
            // A listener clock ahead of ours says nothing about the wait.
            guard !overflow, waited >= 0 else { continue }
            let nanoseconds = waited.multipliedReportingOverflow(by: 1_000_000).partialValue
            acceptToCommit.recordNanoseconds(nanoseconds)
            if published { acceptToPublish.recordNanoseconds(nanoseconds) }
        }
    }

    /// `count` messages of one source and type took effect; `ejected` executors went dirty
    /// because of them.
    func applied(source: String, type: String, count: Int = 1, ejected: Int) {
        guard count > 0 else { return }
        counter(in: appliedCounters, "mimic_messages_applied_total", [("source", source), ("type", type)])
            .increment(by: count)
        if ejected > 0 {
            counter(in: ejectionCounters, "mimic_ejections_total", [("source", source)]).increment(by: ejected)
        }
    }

    func deadLettered(_ count: Int) {
        if count > 0 { deadLetters.increment(by: count) }
    }

    /// Executors per state after a commit.
    func executors(_ counts: [String: Int]) {
        executorGauges.withLock { gauges in
            for (state, count) in counts {
                let gauge =
                    gauges[state]
                    ?? Metrics.Gauge(
                        label: "mimic_executors", dimensions: [("app", app), ("state", state)], factory: factory)
                gauges[state] = gauge
                gauge.record(count)
            }
        }
    }

    /// 1 for a host the pool uses, 0 for one it holds down, after a commit.
    func hosts(_ states: [String: String]) {
        hostGauges.withLock { gauges in
            for (host, state) in states {
                let gauge =
                    gauges[host]
                    ?? Metrics.Gauge(
                        label: "mimic_host_up", dimensions: [("app", app), ("host", host)], factory: factory)
                gauges[host] = gauge
                gauge.record(state == "up" ? 1 : 0)
            }
        }
    }

    private func counter(
        in cache: borrowing Mutex<[String: Metrics.Counter]>, _ name: String, _ labels: [(String, String)]
    )
        -> Metrics.Counter
    {
        let key = labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        return cache.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Metrics.Counter(label: name, dimensions: [("app", app)] + labels, factory: factory)
            counters[key] = counter
            return counter
        }
    }
}
