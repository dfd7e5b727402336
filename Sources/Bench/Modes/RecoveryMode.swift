import ArgumentParser
import Foundation

/// kill -9 of one worker (app b0) under a steady load over all apps. Measured from the kill: when
/// the supervisor's new worker appears, when the listener sees its first acknowledgement, when
/// the backlog that built up meanwhile is acknowledged; after the load, whether every accepted
/// message of every app is in effect in Redis (lost = accepted - applied seq); and the other apps'
/// answer latency p99 during the outage against the steady state before the kill.
struct RecoveryMode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recovery")

    @OptionGroup var common: CommonOptions
    @Option(help: "Background load, msgs/s over all apps.") var rate = 10_000.0
    @Option(help: "Seconds of load per run.") var seconds = 6.0
    @Option(help: "Seconds into the load when the worker is killed.") var killAt = 2.0
    @Option(help: "Apps.") var apps = 4
    @Option(help: "TCP connections.") var connections = 2

    func run() throws {
        print(common.machineLine())
        print(
            "recovery: \(Int(rate)) msgs/s over \(apps) apps for \(seconds) s, kill -9 worker b0 at \(killAt) s, "
                + "fsync \(common.fsync), hooks \(common.hooks)")
        var report = Report(mode: "recovery")
        for run in 1...common.runs {
            try common.withEnvironment(apps: apps) { environment in
                try measure(environment, run: run, into: &report)
            }
            print("run \(run) done")
        }
        report.printTable()
        report.printResult(
            [
                ("restart_ms", "restarted_after_kill_ms"), ("first_ack_after_start_ms", "first_ack_after_start_ms"),
                ("drained_ms", "drained_after_kill_ms"), ("lost", "lost"),
                ("other_p99_outage_ms", "other_apps_p99_outage_ms"),
                ("other_p99_steady_ms", "other_apps_p99_steady_ms"),
                ("ratio_k8s_50s", "drained_to_k8s_50s"), ("ratio_envoy_10s", "drained_to_envoy_10s"),
            ],
            extra: [("runs", String(common.runs)), ("rate", String(Int(rate)))])
    }

    private func measure(_ environment: BenchEnvironment, run: Int, into report: inout Report) throws {
        let victim = environment.appNames[0]
        var executors: [String: [String]] = [:]
        for app in environment.appNames { executors[app] = try environment.onlineExecutors(app) }
        let workload = Workload(executors: executors, apps: environment.appNames)
        let load = TCPLoad(workload: workload, stream: "r\(run)", total: Int(rate * seconds), connections: connections)
        let started = monotonicNanos()
        try load.start(port: environment.tcpPort, rate: rate)
        sleepMillis(killAt * 1000)
        func probe() throws -> AppProbe { try AppProbe.fetch(app: victim, port: environment.adminPort) }
        guard let oldPid = try probe().pid else { throw BenchFailure("no worker pid for \(victim)") }
        let killed = monotonicNanos()
        kill(oldPid, SIGKILL)
        var restarted: UInt64?
        var ackedAtRestart = 0
        var lastSeqAtFirstAck = 0
        var firstAck: UInt64?
        var drained: UInt64?
        let deadline = killed + 60_000_000_000
        while drained == nil, monotonicNanos() < deadline {
            let state = try probe()
            let now = monotonicNanos()
            if restarted == nil, let pid = state.pid, pid != oldPid {
                restarted = now
                ackedAtRestart = state.ackedSeq
            } else if restarted != nil, firstAck == nil, state.ackedSeq > ackedAtRestart {
                firstAck = now
                lastSeqAtFirstAck = state.lastSeq
            }
            if firstAck != nil, state.ackedSeq >= lastSeqAtFirstAck { drained = now }
            if drained == nil { sleepMillis(2) }
        }
        load.join()
        guard load.errors == 0 else {
            throw BenchFailure("run \(run): \(load.errors) errors; first: \(load.firstError ?? "-")")
        }
        // Every accepted message of every app must take effect: wait, then compare.
        let watch = try AppliedWatch(environment: environment)
        _ = try watch.wait(for: load.perApp, timeout: 60)
        let applied = try watch.all()
        let lost = load.perApp.reduce(0) { $0 + max(0, $1.value - (applied[$1.key] ?? 0)) }
        let victimIndex = UInt16(0)
        let outageEnd = drained ?? monotonicNanos()
        var steady = [UInt64]()
        var outage = [UInt64]()
        for stream in load.runs {
            steady += stream.latencies(app: { $0 != victimIndex }, window: (started + 500_000_000)...killed)
            outage += stream.latencies(app: { $0 != victimIndex }, window: killed...outageEnd)
        }
        func millis(_ from: UInt64?, _ to: UInt64?) -> Double {
            guard let from, let to else { return .nan }
            return Double(to - from) / 1e6
        }
        report.add(
            "restarted_after_kill_ms", millis(killed, restarted), unit: "ms (supervisor backoff 200 ms + jitter)")
        report.add("first_ack_after_start_ms", millis(restarted, firstAck), unit: "ms (target <= 150, issue 15)")
        report.add("drained_after_kill_ms", millis(killed, drained), unit: "ms")
        report.add("backlog_at_first_ack", Double(max(0, lastSeqAtFirstAck - ackedAtRestart)), unit: "msgs")
        report.add("lost", Double(lost), unit: "msgs (must be 0)")
        report.add("accepted", Double(load.oks), unit: "msgs")
        report.add("other_apps_p99_steady_ms", Stats.millis(Stats.histogram(steady), 99), unit: "ms answer latency")
        report.add("other_apps_p99_outage_ms", Stats.millis(Stats.histogram(outage), 99), unit: "ms answer latency")
        report.add("drained_to_k8s_50s", millis(killed, drained) / 50_000, unit: "ratio to Kubernetes' ~50 s")
        report.add("drained_to_envoy_10s", millis(killed, drained) / 10_000, unit: "ratio to Envoy's 10 s")
    }
}
