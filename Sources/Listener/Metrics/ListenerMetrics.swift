import Metrics
import Prometheus
import Synchronization

/// The listener's own series (issue 18 item 1): swift-metrics types on a Prometheus registry of
/// the listener's own, written out by swift-prometheus and merged with the workers' texts into one
/// `/metrics`. What the listener counts as it happens (messages at the doors, journal durations)
/// is recorded then; what it only knows as a state (seqs, backlog, a worker's restarts, the
/// worker's counts in Redis) is set from a snapshot when /metrics is asked for.
final class ListenerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    let ingress: IngressCounters
    private let perApp = Mutex<[String: AppSeries]>([:])

    /// An fsync of a segment on a local SSD takes about 0.14 ms: the buckets start below it.
    static let journalBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    /// One app's series, kept so they can be set at each scrape and dropped with the app.
    private struct AppSeries {
        var gauges: [String: Metrics.Gauge] = [:]
        var counters: [String: StateCounter] = [:]
        var timings: JournalTimings?
    }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "mimic_journal_append_seconds": Self.journalBuckets, "mimic_journal_fsync_seconds": Self.journalBuckets,
        ]
        self.factory = factory
        ingress = IngressCounters(factory: factory)
    }

    /// The timers an app's journal records its writes and fsyncs on.
    func journalTimings(app: String) -> JournalTimings {
        perApp.withLock { apps in
            if let timings = apps[app]?.timings { return timings }
            let labels = [("app", app)]
            let timings = JournalTimings(
                append: Metrics.Timer(label: "mimic_journal_append_seconds", dimensions: labels, factory: factory),
                fsync: Metrics.Timer(label: "mimic_journal_fsync_seconds", dimensions: labels, factory: factory))
            apps[app, default: AppSeries()].timings = timings
            return timings
        }
    }

    /// Sets a gauge of `app` to what the listener sees now.
    func set(_ name: String, app: String, to value: Int) {
        perApp.withLock { apps in
            var series = apps[app, default: AppSeries()]
            let gauge =
                series.gauges[name] ?? Metrics.Gauge(label: name, dimensions: [("app", app)], factory: factory)
            series.gauges[name] = gauge
            apps[app] = series
            gauge.record(value)
        }
    }

    /// Sets a counter of `app` to a total kept elsewhere (the journal, the supervisor, Redis).
    func set(counter name: String, app: String, to total: UInt64) {
        perApp.withLock { apps in
            var series = apps[app, default: AppSeries()]
            var counter =
                series.counters[name]
                ?? StateCounter(Metrics.Counter(label: name, dimensions: [("app", app)], factory: factory))
            counter.set(total)
            series.counters[name] = counter
            apps[app] = series
        }
    }

    /// Drops every series of an app the listener no longer serves.
    func forget(app: String) {
        ingress.forget(app: app)
        guard let series = perApp.withLock({ $0.removeValue(forKey: app) }) else { return }
        for gauge in series.gauges.values { gauge.destroy() }
        for counter in series.counters.values { counter.counter.destroy() }
        series.timings?.append.destroy()
        series.timings?.fsync.destroy()
    }

    /// The exposition text of every listener series.
    func text() -> String {
        registry.emitToString()
    }
}
