import Foundation
import Shared

/// The stages of an accepted message's path, read from the fleet's `/metrics` (the histograms the
/// listener and the worker keep anyway): how much of a trigger's wait is the journal, how much the
/// worker's queue and decision, how much its Redis commit. Two scrapes are subtracted so the
/// warm-up before the triggers does not count.
struct PathStages {
    /// Cumulative counts per bucket upper bound (seconds), per family, summed over the app's series.
    private var families: [String: [Double: Double]] = [:]

    static let stages: [(family: String, name: String)] = [
        ("mimic_journal_append_seconds", "journal_write"),
        ("mimic_journal_fsync_seconds", "journal_fsync"),
        ("mimic_redis_commit_seconds", "worker_commit"),
        ("mimic_decision_accept_to_commit_seconds", "accept_to_commit"),
        ("mimic_decision_accept_to_publish_seconds", "accept_to_publish"),
    ]

    static func scrape(adminPort: Int, app: String) throws -> PathStages {
        let response = try BlockingHTTPClient(timeout: 30).request("GET", "http://127.0.0.1:\(adminPort)/metrics")
        guard response.status == 200 else { throw BenchFailure("GET /metrics answered \(response.status)") }
        return PathStages(exposition: String(decoding: response.body, as: UTF8.self), app: app)
    }

    init(exposition: String, app: String) {
        let wanted = Set(Self.stages.map { $0.family + "_bucket" })
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let brace = line.firstIndex(of: "{"), wanted.contains(String(line[..<brace])),
                line.contains("app=\"\(app)\""),
                let leStart = line.range(of: "le=\"")?.upperBound,
                let leEnd = line[leStart...].firstIndex(of: "\""),
                let space = line.lastIndex(of: " "),
                let count = Double(line[line.index(after: space)...])
            else { continue }
            let bound = line[leStart..<leEnd] == "+Inf" ? Double.infinity : Double(line[leStart..<leEnd])
            guard let bound else { continue }
            let family = String(line[..<brace].dropLast("_bucket".count))
            families[family, default: [:]][bound, default: 0] += count
        }
    }

    /// This scrape's counts less `earlier`'s.
    func since(_ earlier: PathStages) -> PathStages {
        var difference = self
        for (family, buckets) in families {
            for (bound, count) in buckets {
                difference.families[family]![bound] = count - (earlier.families[family]?[bound] ?? 0)
            }
        }
        return difference
    }

    /// The bucket bound (ms) the `percentile` falls under: an upper bound, as coarse as the
    /// buckets; nil when the family recorded nothing.
    func upperBoundMillis(_ family: String, _ percentile: Double) -> Double? {
        guard let buckets = families[family], let total = buckets[.infinity], total > 0 else { return nil }
        let needed = total * percentile / 100
        for bound in buckets.keys.sorted() where buckets[bound]! >= needed { return bound * 1000 }
        return nil
    }

    func count(_ family: String) -> Double { families[family]?[.infinity] ?? 0 }
}
