import Metrics
import Shared
import Synchronization

/// Messages accepted and refused at the doors, for /metrics (issue 18 item 1). Counted as they are
/// answered, so this is on the hot path: one lock per answered request or batch of lines, one
/// dictionary look-up and one atomic add per message; a series is created only the first time its
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
        acceptedSeries.withLock { series in
            for message in messages {
                let key = AcceptedKey(app: message.app, source: message.source, type: message.type)
                if let counter = series[key] {
                    counter.increment()
                } else {
                    let counter = Metrics.Counter(
                        label: "mimic_listener_accepted_total",
                        dimensions: [("app", key.app), ("source", key.source.rawValue), ("type", key.type.rawValue)],
                        factory: factory)
                    series[key] = counter
                    counter.increment()
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
