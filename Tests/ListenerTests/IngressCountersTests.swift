import Metrics
import Prometheus
import Shared
import Testing

@testable import Listener

/// The accepted counter sums a batch by kind before it touches the series: the sums must be the
/// per-message counts, whatever the batch mixes.
struct IngressCountersTests {
    private static func message(_ app: String, _ source: Source, _ type: MessageType) -> IntakeMessage {
        IntakeMessage(
            app: app, id: "m", source: source, type: type, entry: JournalEntry(key: "k", envelope: []))
    }

    @Test func aMixedBatchIsCountedPerAppSourceAndType() {
        let registry = PrometheusCollectorRegistry()
        let counters = IngressCounters(factory: PrometheusMetricsFactory(registry: registry))
        counters.accepted(
            app: "shop",
            kinds: [
                (.leftBracket, .health), (.rightBracket, .arbitration), (.leftBracket, .health),
                (.rightBracket, .arbitration), (.rightBracket, .arbitration), (.admin, .rotate),
            ])
        counters.accepted([
            Self.message("blog", .waf, .alert), Self.message("shop", .leftBracket, .health),
            Self.message("blog", .waf, .alert),
        ])
        var text: [UInt8] = []
        registry.emit(into: &text)
        let lines = Set(String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init))
        for expected in [
            #"mimic_listener_accepted_total{app="shop",source="left_bracket",type="health"} 3"#,
            #"mimic_listener_accepted_total{app="shop",source="right_bracket",type="arbitration"} 3"#,
            #"mimic_listener_accepted_total{app="shop",source="admin",type="rotate"} 1"#,
            #"mimic_listener_accepted_total{app="blog",source="waf",type="alert"} 2"#,
        ] {
            #expect(lines.contains(expected), "\(expected) not in \(lines.sorted())")
        }
    }
}
