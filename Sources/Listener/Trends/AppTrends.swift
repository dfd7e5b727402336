import Foundation
import Shared
import Synchronization

/// Every app's trend ring (issue 18 item 3), kept by the listener so the page's charts survive a
/// reload of the page: a sample every `trend_interval`, 15 minutes of them, served as
/// `GET /v1/apps/{app}/trends`.
final class AppTrends: Sendable {
    static let window: Duration = .seconds(900)
    static let latencyFamily = "mimic_decision_accept_to_commit_seconds"

    let interval: Duration
    private let rings = Mutex<[String: TrendRing]>([:])

    init(interval: Duration) {
        self.interval = interval
    }

    /// Samples for a full window (one more than the points they make).
    var capacity: Int { Int(Self.window / interval) + 1 }

    /// Takes one sample of every app: the listener's counters, and the worker's latency histogram
    /// asked over its socket (a worker that does not answer leaves a gap in the latency only).
    func sample(_ runtime: ListenerRuntime) async {
        let names = runtime.appNames
        for name in names {
            guard let channel = runtime.channel(for: name) else { continue }
            let journal = channel.journal.snapshot()
            let link = channel.linkStatus
            var latency: LatencyHistogram?
            if link.connected,
                case .success(let lines) = await WorkerSocketQuery.ask(
                    socketPath: channel.socketPath, ops: [.metrics]),
                let line = lines.first,
                case .success(let answer) = SocketOp.metrics.read(WorkerMetricsAnswer.self, from: line)
            {
                latency = LatencyHistogram.parse(answer.metrics, family: Self.latencyFamily)
            }
            let sample = TrendRing.Sample(
                time: Int64(Date().timeIntervalSince1970 * 1000),
                accepted: journal.appendedTotal + journal.duplicatesTotal, applied: link.ackedTotal,
                latency: latency)
            rings.withLock { rings in
                rings[name, default: TrendRing(capacity: capacity)].add(sample)
            }
        }
        let current = Set(names)
        rings.withLock { rings in rings = rings.filter { current.contains($0.key) } }
    }

    /// The points of `app`, oldest first; empty until two samples were taken.
    func points(app: String) -> [TrendRing.Point] {
        rings.withLock { $0[app]?.points } ?? []
    }
}

/// `GET /v1/apps/{app}/trends`.
struct AppTrendsAnswer: Sendable, Codable {
    var app: String
    var intervalSeconds: Double
    var points: [TrendRing.Point]

    enum CodingKeys: String, CodingKey {
        case app
        case intervalSeconds = "interval_s"
        case points
    }
}
