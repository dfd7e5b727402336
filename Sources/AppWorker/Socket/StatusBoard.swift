import Foundation
import NIOConcurrencyHelpers
import Scheduling
import Shared

/// What the socket's `status` and `executors` ops report. The scheduler loop posts a snapshot
/// after every commit; socket handlers read it without waiting for the loop, so status stays
/// answerable while a commit is stuck on a Redis outage.
final class StatusBoard: Sendable {
    struct Snapshot: Sendable {
        var redisUp = false
        var redisError: String?
        var loaded = false
        var counts: [String: Int] = [:]
        var applied: (epoch: String, seq: UInt64)?
        var executors: [Executor] = []
        var paused = false
        var onlineVersion = 0
        /// Host name to up/down, as the pool last decided it.
        var hosts: [String: String] = [:]
        /// The newest committed events (stream fields, value, …), oldest first, at most `recentEventLimit`.
        var recentEvents: [[String]] = []
        /// Frames dead-lettered and journal seqs skipped as gone, all time (DESIGN section 10).
        var deadLetters: Int64 = 0
        var skipped: Int64 = 0
        /// Executor id to the manifest of its newest forensics capture.
        var evidence: [String: String] = [:]
        /// Copied with each commit's snapshot (copy on write: free until the lists change); the
        /// answer is built only when asked.
        var lists = ListBook()
    }

    /// Events the `events` op can return: enough for a timeline, small enough to copy per request.
    static let recentEventLimit = 100

    let app: String
    private let started = Date()
    private let state = NIOLockedValueBox(Snapshot())
    /// The syslog exporter's own status, read when asked; nil without `log_export`.
    private let logExport: (@Sendable () -> LogExportStatus)?
    private let metrics: WorkerMetrics?

    init(app: String, logExport: (@Sendable () -> LogExportStatus)? = nil, metrics: WorkerMetrics? = nil) {
        self.app = app
        self.logExport = logExport
        self.metrics = metrics
    }

    func metricsAnswer() -> WorkerMetricsAnswer {
        WorkerMetricsAnswer(app: app, metrics: metrics?.text() ?? "")
    }

    var snapshot: Snapshot { state.withLockedValue { $0 } }

    /// Returns true when the Redis state changed, so the caller logs once per change.
    @discardableResult
    func setRedis(up: Bool, error: String? = nil) -> Bool {
        state.withLockedValue { snapshot in
            let changed = snapshot.redisUp != up
            snapshot.redisUp = up
            snapshot.redisError = up ? nil : error
            return changed
        }
    }

    /// Events become visible only once committed, as in the Redis stream. Kept as the field lists
    /// the stream takes, the newest only; they become maps only when someone asks, so a commit of
    /// thousands of events does not build thousands of dictionaries.
    func appendEvents(_ events: [[String]]) {
        guard !events.isEmpty else { return }
        state.withLockedValue {
            $0.recentEvents.append(contentsOf: events.suffix(Self.recentEventLimit))
            if $0.recentEvents.count > Self.recentEventLimit {
                $0.recentEvents.removeFirst($0.recentEvents.count - Self.recentEventLimit)
            }
        }
    }

    func setEvidence(_ evidence: [String: String]) {
        state.withLockedValue { $0.evidence = evidence }
    }

    func addEvidence(executor: String, manifest: String) {
        state.withLockedValue { $0.evidence[executor] = manifest }
    }

    func setCounters(deadLetters: Int64, skipped: Int64) {
        state.withLockedValue {
            $0.deadLetters = deadLetters
            $0.skipped = skipped
        }
    }

    func publish(pool: ExecutorPool, applied: (epoch: String, seq: UInt64)?) {
        var counts: [String: Int] = [:]
        for state in ExecutorState.allCases { counts[state.rawValue] = 0 }
        for executor in pool.executors.values { counts[executor.state.rawValue, default: 0] += 1 }
        let executors = pool.executors.values.sorted { $0.id < $1.id }
        state.withLockedValue {
            $0.loaded = true
            $0.counts = counts
            $0.applied = applied
            $0.executors = executors
            $0.paused = pool.meta.paused
            $0.onlineVersion = pool.meta.onlineVersion
            $0.lists = pool.lists
            $0.hosts = Dictionary(
                uniqueKeysWithValues: pool.settings.placement.hosts.map {
                    ($0, pool.healthyHosts.contains($0) ? "up" : "down")
                })
        }
    }

    func status() -> WorkerStatus {
        let snapshot = self.snapshot
        return WorkerStatus(
            app: app, pid: Int(getpid()), redis: snapshot.redisUp ? "up" : "down", redisError: snapshot.redisError,
            loaded: snapshot.loaded, counts: snapshot.counts, paused: snapshot.paused,
            onlineVersion: snapshot.onlineVersion, hosts: snapshot.hosts,
            uptimeSeconds: Int(Date().timeIntervalSince(started)),
            applied: snapshot.applied.map { WorkerStatus.Applied(epoch: $0.epoch, seq: $0.seq) },
            deadLetters: snapshot.deadLetters, skipped: snapshot.skipped, logExport: logExport?())
    }

    func executors() -> WorkerExecutors {
        let snapshot = self.snapshot
        // Only executors that still exist: the page draws those.
        let known = Set(snapshot.executors.map(\.id))
        let evidence = snapshot.evidence.filter { known.contains($0.key) }
        return WorkerExecutors(app: app, executors: snapshot.executors, evidence: evidence.isEmpty ? nil : evidence)
    }

    func lists() -> WorkerLists {
        let book = state.withLockedValue { $0.lists }
        var entries: [WorkerLists.Entry] = []
        var totals: [String: Int] = [:]
        for (list, urls) in book.entries.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            totals[list.rawValue] = urls.count
            let soonest = urls.sorted { ($0.value ?? .max, $0.key) < ($1.value ?? .max, $1.key) }
                .prefix(WorkerLists.shownPerList)
            entries += soonest.map { WorkerLists.Entry(list: list.rawValue, url: $0.key, expiresAt: $0.value) }
        }
        return WorkerLists(app: app, entries: entries, totals: totals)
    }

    func events() -> WorkerEvents {
        WorkerEvents(app: app, events: state.withLockedValue { $0.recentEvents }.map(\.fieldPairs))
    }
}
