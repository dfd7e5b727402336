import ArgumentParser
import Foundation

/// N messages over TCP NDJSON (pipelined, several connections) and over HTTP batches, spread over
/// K apps, through the real listener to the real workers and Redis. accepted/s counts answers
/// (journaled per the fsync policy); applied/s waits until `mimic:{app}:applied` reached the
/// count for every app. The relay baseline relays the same message bytes in the same run.
struct ThroughputMode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "throughput")

    @OptionGroup var common: CommonOptions
    @Option(help: "Messages per transport per run.") var messages = 100_000
    @Option(help: "Apps (one worker each).") var apps = 4
    @Option(help: "TCP connections / HTTP connections.") var connections = 4
    @Option(help: "Envelopes per HTTP POST.") var httpBatch = 500
    @Option(help: "tcp | http | both") var transport = "both"
    @Option(help: "mix | arbitration | health") var kind = "mix"
    @Flag(
        help:
            "After the measured runs, one more TCP run under perf record (listener, one worker, Redis); prints each one's top 10 symbols. Needs perf."
    ) var profile = false

    func run() throws {
        guard let kind = Workload.Kind(rawValue: kind) else {
            throw ValidationError("--kind: mix | arbitration | health")
        }
        print(common.machineLine())
        print(
            "throughput: \(messages) msgs per transport per run, \(apps) apps, \(connections) connections, "
                + "fsync \(common.fsync), hooks \(common.hooks), kind \(kind.rawValue)")
        var report = Report(mode: "throughput")
        let doTCP = transport != "http"
        let doHTTP = transport != "tcp"
        try common.withEnvironment(apps: apps) { environment in
            var executors: [String: [String]] = [:]
            for app in environment.appNames { executors[app] = try environment.onlineExecutors(app) }
            let workload = Workload(kind: kind, executors: executors, apps: environment.appNames)
            let watch = try AppliedWatch(environment: environment)
            for run in 1...common.runs {
                if doTCP {
                    let before = try watch.all()
                    let load = TCPLoad(
                        workload: workload, stream: "r\(run)t", total: messages, connections: connections)
                    let targets = load.perApp.reduce(into: [String: Int]()) {
                        $0[$1.key] = (before[$1.key] ?? 0) + $1.value
                    }
                    let cpuBefore = try CPUSample.take(environment)
                    let started = monotonicNanos()
                    try load.start(port: environment.tcpPort)
                    load.join()
                    let accepted = seconds(since: started)
                    guard load.errors == 0, load.oks == messages else {
                        throw BenchFailure(
                            "TCP run \(run): \(load.oks) ok, \(load.errors) errors; first: \(load.firstError ?? "-")")
                    }
                    guard try watch.wait(for: targets, timeout: 300) else {
                        throw BenchFailure("TCP run \(run): applied seq did not reach the targets \(targets)")
                    }
                    let applied = seconds(since: started)
                    report.add("tcp_accepted_per_s", Double(messages) / accepted, unit: "msgs/s")
                    report.add("tcp_applied_per_s", Double(messages) / applied, unit: "msgs/s")
                    addCPU(try CPUSample.take(environment) - cpuBefore, prefix: "tcp", to: &report)
                }
                if doHTTP {
                    let before = try watch.all()
                    let load = HTTPBatchLoad(
                        workload: workload, stream: "r\(run)h", total: messages,
                        connections: connections, batch: httpBatch)
                    let targets = load.perApp.reduce(into: [String: Int]()) {
                        $0[$1.key] = (before[$1.key] ?? 0) + $1.value
                    }
                    let cpuBefore = try CPUSample.take(environment)
                    let started = monotonicNanos()
                    let accepted = load.run(port: environment.httpPort)
                    let acceptedSeconds = seconds(since: started)
                    guard accepted == messages else {
                        throw BenchFailure("HTTP run \(run): \(accepted) accepted; \(load.firstFailure ?? "-")")
                    }
                    guard try watch.wait(for: targets, timeout: 300) else {
                        throw BenchFailure("HTTP run \(run): applied seq did not reach the targets \(targets)")
                    }
                    let applied = seconds(since: started)
                    report.add("http_accepted_per_s", Double(messages) / acceptedSeconds, unit: "msgs/s")
                    report.add("http_applied_per_s", Double(messages) / applied, unit: "msgs/s")
                    addCPU(try CPUSample.take(environment) - cpuBefore, prefix: "http", to: &report)
                }
                // Same run, same machine, same bytes: the anchors.
                let stream = workload.encode(stream: "r\(run)b", range: 0..<messages)
                let relay = try Baseline.relayRate(stream: stream, directory: environment.directory)
                let redis = try Baseline.redisPipelinedSetRate(port: environment.redisPort)
                let xadd = try Baseline.redisPipelinedXAddRate(port: environment.redisPort)
                report.add("relay_baseline_per_s", relay, unit: "msgs/s (one Unix-socket hop, information)")
                report.add("redis_pipelined_set_per_s", redis, unit: "SET/s (redis-benchmark -P 16)")
                report.add("redis_pipelined_xadd_per_s", xadd, unit: "XADD/s (200-byte field, -P 16)")
                if doTCP {
                    let applied = report.lastValue("tcp_applied_per_s")
                    report.add("tcp_applied_to_relay", applied / relay, unit: "ratio (information)")
                    report.add("tcp_applied_to_redis", applied / redis, unit: "ratio to SET")
                    report.add("tcp_applied_to_xadd", applied / xadd, unit: "ratio to XADD")
                }
                if doHTTP, doTCP {
                    report.add(
                        "tcp_to_http_applied",
                        report.lastValue("tcp_applied_per_s") / report.lastValue("http_applied_per_s"),
                        unit: "ratio (target <= 1.5)")
                }
                print("run \(run) done")
            }
            if profile, doTCP { try profiledRun(environment: environment, workload: workload, watch: watch) }
        }
        report.printTable()
        var keys: [(key: String, row: String)] = []
        if doTCP {
            keys += [("accepted_per_s", "tcp_accepted_per_s"), ("applied_per_s", "tcp_applied_per_s")]
        }
        if doHTTP {
            keys += [("http_accepted_per_s", "http_accepted_per_s"), ("http_applied_per_s", "http_applied_per_s")]
        }
        keys += [
            ("baseline_per_s", "relay_baseline_per_s"), ("redis_per_s", "redis_pipelined_set_per_s"),
            ("xadd_per_s", "redis_pipelined_xadd_per_s"),
        ]
        if doTCP {
            keys += [
                ("ratio", "tcp_applied_to_relay"), ("ratio_redis", "tcp_applied_to_redis"),
                ("ratio_xadd", "tcp_applied_to_xadd"),
                ("cpu_us_per_msg", "tcp_cpu_us_per_msg"), ("projected_2core_per_s", "tcp_projected_2core_per_s"),
            ]
        }
        if doTCP, doHTTP { keys.append(("tcp_to_http", "tcp_to_http_applied")) }
        report.printResult(
            keys,
            extra: [
                ("transport", transport == "both" ? "tcp+http" : transport),
                ("runs", String(common.runs)), ("messages", String(messages)),
                ("apps", String(apps)), ("fsync", common.fsync),
            ])
    }

    /// One more TCP run with perf attached, outside the table (perf costs the processes a little).
    private func profiledRun(environment: BenchEnvironment, workload: Workload, watch: AppliedWatch) throws {
        guard CPUProfile.isAvailable else {
            print("--profile: \(CPUProfile.perf) not found (apt-get install linux-perf); no profile")
            return
        }
        var targets: [(name: String, pid: Int32)] = []
        if let listener = environment.listener { targets.append(("listener", listener.pid)) }
        if let (app, pid) = try environment.workerPids().min(by: { $0.key < $1.key }) {
            targets.append(("worker-\(app)", pid))
        }
        if let redis = environment.redis { targets.append(("redis", redis.pid)) }
        let before = try watch.all()
        let load = TCPLoad(workload: workload, stream: "profile", total: messages, connections: connections)
        let targetsApplied = load.perApp.reduce(into: [String: Int]()) { $0[$1.key] = (before[$1.key] ?? 0) + $1.value }
        let recorder = try CPUProfile(targets: targets, directory: environment.directory)
        try load.start(port: environment.tcpPort)
        load.join()
        let applied = try watch.wait(for: targetsApplied, timeout: 300)
        let profiles = recorder.finish()
        print("profile: one more TCP run of \(messages) msgs under perf record -F 999 -g (top symbols by self time)")
        if !applied { print("profile: the applied seq did not reach the targets; the profile may be partial") }
        for (name, symbols) in profiles {
            print("  \(name):")
            for symbol in symbols { print("    \(symbol)") }
        }
    }

    /// CPU cost per message of each process class and the rate 2 dedicated cores would sustain.
    private func addCPU(_ used: CPUSample, prefix: String, to report: inout Report) {
        let perMessage = 1e6 / Double(messages)
        report.add("\(prefix)_cpu_us_per_msg_listener", used.listener * perMessage, unit: "CPU µs/msg")
        report.add("\(prefix)_cpu_us_per_msg_workers", used.workers * perMessage, unit: "CPU µs/msg")
        report.add("\(prefix)_cpu_us_per_msg_redis", used.redis * perMessage, unit: "CPU µs/msg")
        report.add("\(prefix)_cpu_us_per_msg", used.total * perMessage, unit: "CPU µs/msg (all three)")
        report.add(
            "\(prefix)_projected_2core_per_s", used.total > 0 ? 2 * Double(messages) / used.total : .nan,
            unit: "msgs/s if 2 cores were ours")
    }
}
