import Foundation
import Shared
import TestSupport
import Testing

/// `{"op":"metrics"}` (issue 18 item 1): the worker's swift-metrics series as Prometheus text,
/// read by a real Prometheus text parser (the `prometheus-client` PyPI package's), and a
/// histogram that moves when decisions are taken.
@Suite(.serialized, .startsProcesses)
struct WorkerMetricsTests {
    struct Sample: Decodable, Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Parses with `prometheus_client.parser.text_string_to_metric_families`, which refuses text
    /// that is not the exposition format, and hands back every sample.
    static func parse(_ text: String) throws -> (families: [String: String], samples: [Sample]) {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            families, samples = {}, []
            for family in text_string_to_metric_families(sys.stdin.read()):
                families[family.name] = family.type
                for s in family.samples:
                    samples.append({"name": s.name, "labels": s.labels, "value": s.value})
            print(json.dumps({"families": families, "samples": samples}))
            """
        let output = try ChildProcess.run(
            executable: "/usr/bin/env", arguments: ["python3", "-c", script], stdin: text)
        struct Parsed: Decodable {
            var families: [String: String]
            var samples: [Sample]
        }
        let parsed = try JSONDecoder().decode(Parsed.self, from: Data(output.utf8))
        return (parsed.families, parsed.samples)
    }

    static func metrics(_ worker: WorkerFixture) throws -> (families: [String: String], samples: [Sample]) {
        let answer = try worker.connect().request(["op": "metrics"])
        #expect(answer["app"] as? String == worker.app)
        return try parse(try #require(answer["metrics"] as? String))
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }?.value
    }

    @Test func aDecisionMovesTheAcceptToCommitHistogram() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 3 && worker.members("standby").count == 2 })

        let before = try Self.metrics(worker)
        #expect(before.families["mimic_decision_accept_to_commit_seconds"] == "histogram")
        #expect(before.families["mimic_redis_commit_seconds"] == "histogram")
        #expect(Self.value(before.samples, "mimic_executors", ["app": "shop", "state": "online"]) == 3)
        #expect(Self.value(before.samples, "mimic_host_up", ["app": "shop", "host": "local1"]) == 1)
        #expect(Self.value(before.samples, "mimic_host_up", ["app": "shop", "host": "local2"]) == 1)
        let countBefore =
            Self.value(before.samples, "mimic_decision_accept_to_commit_seconds_count", ["app": "shop"]) ?? 0

        // Accepted 5 ms ago by the listener's clock (the same machine's).
        let online = try worker.members("online").sorted()
        let socket = try worker.connect()
        let acceptedAt = Int64(Date().timeIntervalSince1970 * 1000) - 5
        for seq in 1...3 {
            try socket.sendJSON(
                deliveryFrame(
                    epoch: "ep-m", seq: seq, at: acceptedAt, source: "right_bracket", type: "arbitration",
                    body: ["url": "/login", "executors": online, "dissenters": [online[0]]]))
        }
        var ack = 0
        while ack < 3, let reply = socket.readJSON() { ack = reply["ack"] as? Int ?? ack }
        #expect(ack == 3)

        let after = try Self.metrics(worker)
        let app = ["app": "shop"]
        #expect(Self.value(after.samples, "mimic_decision_accept_to_commit_seconds_count", app) == countBefore + 3)
        let sum = Self.value(after.samples, "mimic_decision_accept_to_commit_seconds_sum", app) ?? 0
        #expect(sum >= 0.015, "three decisions that waited at least 5 ms each: \(sum)")
        // The buckets start at 0.1 ms and have a bound at the 2 ms target; the cumulative buckets
        // end at +Inf with the count.
        #expect(Self.value(after.samples, "mimic_decision_accept_to_commit_seconds_bucket", ["le": "0.0001"]) != nil)
        #expect(Self.value(after.samples, "mimic_decision_accept_to_commit_seconds_bucket", ["le": "0.002"]) != nil)
        #expect(
            Self.value(after.samples, "mimic_decision_accept_to_commit_seconds_bucket", ["app": "shop", "le": "+Inf"])
                == countBefore + 3)
        #expect(
            Self.value(
                after.samples, "mimic_messages_applied_total",
                ["app": "shop", "source": "right_bracket", "type": "arbitration"]) == 3)
        #expect(Self.value(after.samples, "mimic_ejections_total", ["app": "shop", "source": "right_bracket"]) == 1)
        #expect((Self.value(after.samples, "mimic_redis_commit_seconds_count", app) ?? 0) > 0)
        #expect(after.samples.allSatisfy { $0.labels["executor"] == nil }, "no executor ids as labels")
    }
}
