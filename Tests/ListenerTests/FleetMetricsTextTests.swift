import Foundation
import TestSupport
import Testing

@testable import Listener

/// The listener's `/metrics` carries every worker's series (issue 18 item 1): two workers'
/// expositions, as swift-prometheus writes them, merged into text a real Prometheus parser (the
/// `prometheus-client` PyPI package's) reads with each family once and both apps' samples.
@Suite struct FleetMetricsTextTests {
    static func worker(_ app: String, count: Int) -> String {
        """
        # TYPE mimic_decision_accept_to_commit_seconds histogram
        mimic_decision_accept_to_commit_seconds_bucket{app="\(app)",le="0.0005"} 0
        mimic_decision_accept_to_commit_seconds_bucket{app="\(app)",le="+Inf"} \(count)
        mimic_decision_accept_to_commit_seconds_sum{app="\(app)"} 0.02
        mimic_decision_accept_to_commit_seconds_count{app="\(app)"} \(count)
        # TYPE mimic_executors gauge
        mimic_executors{app="\(app)",state="online"} 3
        mimic_executors{app="\(app)",state="dirty"} 1

        """
    }

    /// Family name to (type, sample count), and sample name plus labels to value.
    static func parse(_ text: String) throws -> [String: String] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                out["type " + family.name] = family.type
                for s in family.samples:
                    labels = ",".join(k + "=" + v for k, v in sorted(s.labels.items()))
                    out[s.name + "{" + labels + "}"] = repr(float(s.value))
            print(json.dumps(out))
            """
        let output = try ChildProcess.run(
            executable: "/usr/bin/env", arguments: ["python3", "-c", script], stdin: text)
        return try JSONDecoder().decode([String: String].self, from: Data(output.utf8))
    }

    @Test func twoWorkersMergeIntoOneValidExposition() throws {
        var fleet = FleetMetricsText()
        fleet.add(Self.worker("shop", count: 4))
        fleet.add(Self.worker("blog", count: 7))
        let text = fleet.text
        #expect(text.components(separatedBy: "# TYPE mimic_executors gauge").count == 2, "one TYPE line per family")
        let parsed = try Self.parse(text)
        #expect(parsed["type mimic_decision_accept_to_commit_seconds"] == "histogram")
        #expect(parsed["type mimic_executors"] == "gauge")
        #expect(parsed["mimic_decision_accept_to_commit_seconds_count{app=shop}"] == "4.0")
        #expect(parsed["mimic_decision_accept_to_commit_seconds_count{app=blog}"] == "7.0")
        #expect(parsed["mimic_decision_accept_to_commit_seconds_bucket{app=blog,le=+Inf}"] == "7.0")
        #expect(parsed["mimic_executors{app=blog,state=dirty}"] == "1.0")
    }

    @Test func theMergeIsEmptyWithoutWorkersAndSkipsNothingOfOne() throws {
        #expect(FleetMetricsText().text.isEmpty)
        var one = FleetMetricsText()
        one.add(Self.worker("shop", count: 2))
        #expect(one.text == Self.worker("shop", count: 2))
    }
}

/// One scrape of the listener sees the workers' series and its own: a decision taken through the
/// listener moves the app's accept-to-commit histogram, a rotation (a new online set) the
/// accept-to-publish one, every append the journal's append and fsync histograms, and the whole
/// text parses with each family's TYPE once.
@Suite(.serialized, .startsProcesses) struct ListenerMetricsScrapeTests {
    static func scrape(_ fixture: ListenerFixture) throws -> [String: String] {
        let page = try fixture.http("GET", "/metrics", token: nil)
        #expect(page.status == 200)
        var families: [String: Int] = [:]
        for line in page.body.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            families[String(line.split(separator: " ")[2]), default: 0] += 1
        }
        #expect(families.values.allSatisfy { $0 == 1 }, "each family's TYPE once: \(families)")
        let parsed = try FleetMetricsTextTests.parse(page.body)
        #expect(parsed["type mimic_decision_accept_to_commit_seconds"] == "histogram")
        #expect(parsed["type mimic_decision_accept_to_publish_seconds"] == "histogram")
        #expect(parsed["type mimic_journal_append_seconds"] == "histogram")
        #expect(parsed["type mimic_journal_fsync_seconds"] == "histogram")
        // The parser names a counter's family without `_total`.
        #expect(parsed["type mimic_listener_accepted"] == "counter", "the listener's own series parse too")
        #expect(parsed["type mimic_listener_backlog_messages"] == "gauge")
        #expect(parsed["type mimic_messages_applied"] == "counter")
        return parsed
    }

    static func count(_ parsed: [String: String], _ family: String) -> Double {
        parsed[family + "_count{app=shop}"].flatMap(Double.init) ?? 0
    }

    @Test func decisionsAndAppendsThroughTheListenerMoveTheFleetHistograms() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let reply = try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "metrics-1"))
        #expect(reply.status == 202, "\(reply.body)")
        #expect(try eventually { try fixture.ackedSeq("shop") == 1 })
        let first = try Self.scrape(fixture)
        #expect(Self.count(first, "mimic_journal_append_seconds") >= 1)
        #expect(Self.count(first, "mimic_journal_fsync_seconds") >= 1)
        // Buckets below the 0.14 ms an fsync takes on an SSD, so its latency is not one bucket.
        #expect(first["mimic_journal_fsync_seconds_bucket{app=shop,le=0.0001}"] != nil)
        #expect(first["mimic_journal_append_seconds_bucket{app=shop,le=0.00025}"] != nil)

        let second = try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "metrics-2"))
        #expect(second.status == 202, "\(second.body)")
        let rotation = try fixture.http("POST", "/v1/events", body: Messages.rotate("shop", id: "metrics-3"))
        #expect(rotation.status == 202, "\(rotation.body)")
        #expect(try eventually { try fixture.ackedSeq("shop") == 3 })
        let after = try Self.scrape(fixture)
        #expect(
            Self.count(after, "mimic_decision_accept_to_commit_seconds")
                == Self.count(first, "mimic_decision_accept_to_commit_seconds") + 2)
        #expect(
            Self.count(after, "mimic_decision_accept_to_publish_seconds")
                > Self.count(first, "mimic_decision_accept_to_publish_seconds"),
            "the rotation published a new online set")
        #expect(
            Self.count(after, "mimic_journal_append_seconds") >= Self.count(first, "mimic_journal_append_seconds") + 2)
        #expect(
            Self.count(after, "mimic_journal_fsync_seconds") >= Self.count(first, "mimic_journal_fsync_seconds") + 2)
        #expect(after["mimic_listener_accepted_total{app=shop,source=left_bracket,type=health}"] == "2.0")
        #expect(after["mimic_listener_accepted_total{app=shop,source=admin,type=rotate}"] == "1.0")
        #expect(after["mimic_listener_acked_seq{app=shop}"] == "3.0")
        #expect(after["mimic_listener_backlog_messages{app=shop}"] == "0.0")
    }
}
