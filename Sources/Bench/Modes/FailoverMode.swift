import ArgumentParser
import Foundation

/// Cluster mode (DESIGN section 11): several listener instances on one Redis, a steady load
/// through a survivor, and `kill -9` of another instance's machine (its listener and workers).
/// Measured from the kill: when the first of the dead instance's apps applies a message again on
/// the survivor (its applied seq moves in Redis), and when the last of them does; after the
/// load, whether every accepted message is in effect (lost = accepted - applied seq; the seq is
/// the journal's, shared by the instances, so a message applied twice cannot show here: the
/// commit script refuses a seq twice, and `ClusterEndToEndTests` count effects per id). Each run
/// first measures the applied rate of an unpaced TCP load on one machine (file journal) and on
/// the cluster (stream journal, sent through i1), same apps, same machine, same run.
///
/// `--fault master` measures the Redis side instead (`FailoverMode+Master.swift`): `kill -9` of
/// the Sentinel master under the cluster, with `redis.wait` on every Redis block.
struct FailoverMode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "failover")

    enum Fault: String, ExpressibleByArgument, CaseIterable {
        case instance, master
    }

    @OptionGroup var common: CommonOptions
    @Option(help: "instance: kill -9 of instance i0's machine; master: kill -9 of the Redis master under Sentinel.")
    var fault: Fault = .instance
    @Option(help: "Background load through the surviving instance, msgs/s over all apps.") var rate = 2_000.0
    @Option(help: "Seconds of load per run.") var seconds = 8.0
    @Option(help: "Seconds into the load when instance i0's machine is killed.") var killAt = 2.0
    @Option(help: "Apps (at most 14: DB 15 holds the leases).") var apps = 4
    @Option(help: "Scheduler instances.") var instances = 2
    @Option(help: "The cluster lease (listener.yaml cluster.lease); default 2s, with --fault master 3s (the README's).")
    var lease: String?
    @Option(help: "TCP connections.") var connections = 2
    @Option(help: "Messages of the throughput comparison (unpaced TCP, one machine, then the cluster); 0 skips it.")
    var throughputMessages = 40_000
    @Option(help: "--fault master: Sentinel down-after-milliseconds.") var downAfter = 1000
    @Option(help: "--fault master: Sentinel failover-timeout, ms.") var failoverTimeout = 5000
    @Option(help: "--fault master: redis.wait timeout of every redis block.") var waitTimeout = "500ms"
    @Option(help: "--fault master: ms a sender waits before sending a refused (503) message again.")
    var retryMillis = 100.0

    var leaseText: String { lease ?? (fault == .master ? "3s" : "2s") }

    func validate() throws {
        guard instances >= 2 || (fault == .master && instances >= 1) else {
            throw ValidationError("--instances: at least 2 (one dies, one takes over)")
        }
        guard Self.millis(leaseText) != nil else { throw ValidationError("--lease: like 3s or 1500ms") }
        guard (1...14).contains(apps) else { throw ValidationError("--apps: 1 to 14") }
    }

    func run() throws {
        print(common.machineLine())
        if fault == .master { return try runMasterKill() }
        print(
            "failover: \(instances) instances, \(apps) apps, lease \(leaseText), \(Int(rate)) msgs/s through i1 for "
                + "\(seconds) s, kill -9 of i0 and its workers at \(killAt) s, fsync \(common.fsync)")
        var report = Report(mode: "failover")
        for run in 1...common.runs {
            if throughputMessages > 0 {
                let rate = try common.withEnvironment(apps: apps) { environment in
                    try Self.appliedRate(
                        environment, port: environment.tcpPort, messages: throughputMessages,
                        connections: connections, stream: "o\(run)")
                }
                report.add("one_machine_applied_per_s", rate, unit: "msgs/s (file journal, one listener)")
            }
            let options = try common.environmentOptions(apps: apps)
            let environment = try BenchEnvironment(options)
            defer { environment.shutdown() }
            try environment.startRedis()
            let cluster = try ClusterInstances(environment: environment, count: instances, lease: leaseText)
            defer { cluster.shutdown() }
            for index in 0..<instances { try cluster.start(index) }
            try measure(environment, cluster, run: run, into: &report)
            print("run \(run) done")
        }
        printReport(report)
    }

    /// One RESULT line for both faults: the keys of the fault that did not run are nan.
    func printReport(_ report: Report) {
        report.printTable()
        report.printResult(
            [
                ("first_ack_ms", "first_ack_after_death_ms"), ("all_apps_ms", "all_apps_after_death_ms"),
                ("lost", "lost"), ("lease_ms", "lease_ms"), ("ratio_target", "all_apps_to_lease_plus_1s"),
                ("one_machine_per_s", "one_machine_applied_per_s"), ("cluster_per_s", "cluster_applied_per_s"),
                ("ratio_cluster", "cluster_to_one_machine"),
                ("master_failover_ms", "sentinel_failover_ms"), ("master_first_ack_ms", "first_ack_after_kill_ms"),
                ("master_first_app_ms", "first_app_applied_after_kill_ms"),
                ("master_all_apps_ms", "all_apps_applied_after_kill_ms"), ("master_refused", "refused_during_failover"),
                ("master_lost", "master_lost"), ("master_duplicated", "master_duplicated"),
                ("down_after_ms", "down_after_ms"), ("ratio_master_target", "first_ack_to_down_after_plus_2s"),
                ("apps_reacquired", "apps_reacquired"),
            ],
            extra: [
                ("runs", String(common.runs)), ("rate", String(Int(rate))), ("instances", String(instances)),
                ("fault", fault.rawValue),
            ])
    }

    private func measure(
        _ environment: BenchEnvironment, _ cluster: ClusterInstances, run: Int, into report: inout Report
    ) throws {
        let owners = try cluster.waitSettled(live: Array(0..<instances))
        // Full online sets first, so the workload names real executors.
        for app in environment.appNames {
            let deadline = monotonicNanos() + 60_000_000_000
            while (try? environment.onlineExecutors(app).count) != environment.options.online {
                guard monotonicNanos() < deadline else { throw BenchFailure("\(app): online set never filled") }
                sleepMillis(20)
            }
        }
        if throughputMessages > 0 {
            let rate = try Self.appliedRate(
                environment, port: cluster.instances[1].tcpPort, messages: throughputMessages,
                connections: connections, stream: "c\(run)")
            report.add("cluster_applied_per_s", rate, unit: "msgs/s (stream journal, \(instances) instances)")
            report.add(
                "cluster_to_one_machine", rate / report.lastValue("one_machine_applied_per_s"),
                unit: "ratio (same run)")
        }
        let victims = owners.filter { $0.value == cluster.instances[0].name }.map(\.key).sorted()
        guard !victims.isEmpty else { throw BenchFailure("run \(run): i0 owns no app (\(owners))") }
        var executors: [String: [String]] = [:]
        for app in environment.appNames { executors[app] = try environment.onlineExecutors(app) }
        let workload = Workload(executors: executors, apps: environment.appNames)
        let load = TCPLoad(workload: workload, stream: "f\(run)", total: Int(rate * seconds), connections: connections)
        try load.start(port: cluster.instances[1].tcpPort, rate: rate)
        sleepMillis(killAt * 1000)
        let watch = try AppliedWatch(environment: environment)
        try cluster.killMachine(0)
        let killed = monotonicNanos()
        var before: [String: Int] = [:]
        for app in victims { before[app] = try watch.seq(app) }
        var resumed: [String: UInt64] = [:]
        let deadline = killed + 60_000_000_000
        while resumed.count < victims.count, monotonicNanos() < deadline {
            for app in victims where resumed[app] == nil {
                if try watch.seq(app) > before[app] ?? 0 { resumed[app] = monotonicNanos() }
            }
            if resumed.count < victims.count { sleepMillis(2) }
        }
        load.join()
        guard load.errors == 0 else {
            throw BenchFailure("run \(run): \(load.errors) errors; first: \(load.firstError ?? "-")")
        }
        _ = try watch.wait(for: load.perApp, timeout: 60)
        let applied = try watch.all()
        let lost = load.perApp.reduce(0) { $0 + max(0, $1.value - (applied[$1.key] ?? 0)) }
        let leaseMillis = Double(Self.millis(leaseText) ?? 0)
        func since(_ instant: UInt64?) -> Double { instant.map { Double($0 - killed) / 1e6 } ?? .nan }
        report.add(
            "first_ack_after_death_ms", since(resumed.values.min()), unit: "ms (first of i0's apps applying again)")
        report.add(
            "all_apps_after_death_ms", since(resumed.count == victims.count ? resumed.values.max() : nil),
            unit: "ms (target <= lease + 1 s)")
        report.add("apps_moved", Double(victims.count), unit: "apps")
        report.add("lost", Double(lost), unit: "msgs (must be 0)")
        report.add("accepted", Double(load.oks), unit: "msgs")
        report.add("lease_ms", leaseMillis, unit: "ms")
        report.add(
            "all_apps_to_lease_plus_1s", since(resumed.values.max()) / (leaseMillis + 1000), unit: "ratio (target <= 1)"
        )
    }

    /// Sends `messages` as fast as the listener takes them over TCP and waits until all are
    /// applied in Redis; applied messages per second from the first send.
    static func appliedRate(
        _ environment: BenchEnvironment, port: Int, messages: Int, connections: Int, stream: String
    ) throws -> Double {
        var executors: [String: [String]] = [:]
        for app in environment.appNames { executors[app] = try environment.onlineExecutors(app) }
        let workload = Workload(executors: executors, apps: environment.appNames)
        let watch = try AppliedWatch(environment: environment)
        let before = try watch.all()
        let load = TCPLoad(workload: workload, stream: stream, total: messages, connections: connections)
        let targets = load.perApp.reduce(into: [String: Int]()) { $0[$1.key] = (before[$1.key] ?? 0) + $1.value }
        let started = monotonicNanos()
        try load.start(port: port)
        load.join()
        guard load.errors == 0, load.oks == messages else {
            throw BenchFailure("\(stream): \(load.oks) ok, \(load.errors) errors; first: \(load.firstError ?? "-")")
        }
        guard try watch.wait(for: targets, timeout: 300) else {
            throw BenchFailure("\(stream): applied seq did not reach the targets \(targets)")
        }
        return Double(messages) / (Double(monotonicNanos() - started) / 1e9)
    }

    /// "2s", "1500ms": what the listener's config accepts for a lease, in ms.
    static func millis(_ text: String) -> Int? {
        if text.hasSuffix("ms") { return Int(text.dropLast(2)) }
        if text.hasSuffix("s") { return Int(text.dropLast()).map { $0 * 1000 } }
        return nil
    }
}
