import Metrics
import Shared
import Synchronization

/// Messages accepted and refused at the doors, for /metrics (issue 18 item 1). Counted as they are
/// answered, so this is on the hot path: one lock per answered request or batch of lines, one
/// dictionary look-up and one atomic add per kind of message in it; a series is created only the first time its
/// labels are seen. The labels are bounded: `app` is a configured app, `source` and `type` are
/// validated values, `code` an HTTP status.
final class IngressCounters: Sendable {
    private struct AcceptedKey: Hashable {
        var app: String
        var source: Source
        var type: MessageType
    }

    private let factory: any MetricsFactory
    private let acceptedSeries = Mutex<[AcceptedKey: Metrics.Counter]>([:])
    private let rejectedSeries = Mutex<[Int: Metrics.Counter]>([:])
    private let cut: Metrics.Counter

    init(factory: any MetricsFactory) {
        self.factory = factory
        cut = Metrics.Counter(label: "mimic_listener_tcp_cut_total", factory: factory)
    }

    func accepted(_ messages: some Sequence<IntakeMessage>) {
        var counts: [(key: AcceptedKey, count: Int)] = []
        for message in messages {
            tally(AcceptedKey(app: message.app, source: message.source, type: message.type), into: &counts)
        }
        add(counts)
    }

    /// Messages of one app (a TCP batch): only their kinds are read, nothing is copied.
    func accepted(app: String, kinds: some Sequence<(Source, MessageType)>) {
        var counts: [(key: AcceptedKey, count: Int)] = []
        for (source, type) in kinds { tally(AcceptedKey(app: app, source: source, type: type), into: &counts) }
        add(counts)
    }

    /// A batch holds few kinds: they are summed first, so the table is looked up once per kind
    /// rather than once per message.
    private func tally(_ key: AcceptedKey, into counts: inout [(key: AcceptedKey, count: Int)]) {
        if let index = counts.firstIndex(where: {
            $0.key.source == key.source && $0.key.type == key.type && $0.key.app == key.app
        }) {
            counts[index].count += 1
        } else {
            counts.append((key, 1))
        }
    }

    private func add(_ counts: [(key: AcceptedKey, count: Int)]) {
        guard !counts.isEmpty else { return }
        acceptedSeries.withLock { series in
            for (key, count) in counts {
                if let counter = series[key] {
                    counter.increment(by: count)
                } else {
                    let counter = Metrics.Counter(
                        label: "mimic_listener_accepted_total",
                        dimensions: [("app", key.app), ("source", key.source.rawValue), ("type", key.type.rawValue)],
                        factory: factory)
                    series[key] = counter
                    counter.increment(by: count)
                }
            }
        }
    }

    func rejected(_ status: Int, count: Int = 1) {
        rejectedSeries.withLock { series in
            let counter =
                series[status]
                ?? Metrics.Counter(
                    label: "mimic_listener_rejected_total", dimensions: [("code", "\(status)")], factory: factory)
            series[status] = counter
            counter.increment(by: count)
        }
    }

    /// A TCP connection closed because its peer left its answers unread (TCPSession).
    func cutForUnreadAnswers() {
        cut.increment()
    }

    /// Drops the accepted series of an app the listener no longer serves.
    func forget(app: String) {
        acceptedSeries.withLock { series in
            for (key, counter) in series where key.app == app {
                counter.destroy()
                series[key] = nil
            }
        }
    }
}
