import ArgumentParser
import Foundation

/// The anchors alone: the plain Unix-socket relay of the same message bytes, Redis's pipelined
/// write rate, and one PUBLISH-to-subscriber hop (the floor under trigger-to-publish latency).
/// The other modes measure the relay and Redis again in their own runs for their ratios.
struct BaselineMode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "baseline")

    @OptionGroup var common: CommonOptions
    @Option(help: "Messages relayed per run.") var messages = 500_000

    func run() throws {
        print(common.machineLine())
        var report = Report(mode: "baseline")
        let environment = try BenchEnvironment(try common.environmentOptions(apps: 4))
        defer { environment.shutdown() }
        try environment.startRedis()
        let workload = Workload(executors: [:], apps: environment.appNames)
        for run in 1...common.runs {
            let stream = workload.encode(stream: "r\(run)b", range: 0..<messages)
            report.add(
                "relay_per_s", try Baseline.relayRate(stream: stream, directory: environment.directory),
                unit: "msgs/s (one Unix-socket hop, batched)")
            report.add(
                "relay_MB_per_s", report.lastValue("relay_per_s") * Double(stream.bytes.count) / Double(messages) / 1e6,
                unit: "MB/s")
            report.add(
                "redis_pipelined_set_per_s", try Baseline.redisPipelinedSetRate(port: environment.redisPort),
                unit: "SET/s (redis-benchmark -P 16)")
            let histogram = Stats.histogram(try Baseline.redisPublishLatencies(port: environment.redisPort))
            report.add("redis_publish_p50_ms", Stats.millis(histogram, 50), unit: "ms")
            report.add("redis_publish_p99_ms", Stats.millis(histogram, 99), unit: "ms")
        }
        report.printTable()
        report.printResult(
            [
                ("relay_per_s", "relay_per_s"), ("redis_per_s", "redis_pipelined_set_per_s"),
                ("publish_p50_ms", "redis_publish_p50_ms"), ("publish_p99_ms", "redis_publish_p99_ms"),
            ],
            extra: [("runs", String(common.runs)), ("messages", String(messages))])
    }
}
