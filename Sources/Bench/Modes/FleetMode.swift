import ArgumentParser
import Foundation
import Shared

/// 50 apps behind one listener: start-up time until every worker answers `{"op":"status"}` on its
/// socket (and until every app has its online set), then the RSS of every worker and of the
/// listener, idle and under load.
struct FleetMode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fleet")

    @OptionGroup var common: CommonOptions
    @Option(help: "Apps.") var apps = 50
    @Option(help: "Load for the under-load RSS, msgs/s over all apps.") var rate = 20_000.0
    @Option(help: "Seconds of load.") var seconds = 5.0

    func run() throws {
        print(common.machineLine())
        print(
            "fleet: \(apps) apps, load \(Int(rate)) msgs/s for \(seconds) s, fsync \(common.fsync), hooks \(common.hooks)"
        )
        var report = Report(mode: "fleet")
        for run in 1...common.runs {
            let environment = try BenchEnvironment(try common.environmentOptions(apps: apps))
            defer { environment.shutdown() }
            try environment.startRedis()
            try environment.startListener()
            let statusSeconds = try waitForStatus(environment)
            let readySeconds = try environment.waitReady()
            sleepMillis(2000)  // settle: hooks done, first publications out
            let pids = try environment.workerPids()
            guard pids.count == apps, let listenerPid = environment.listener?.pid else {
                throw BenchFailure("only \(pids.count) worker pids")
            }
            let idleWorkers = pids.values.compactMap { residentBytes(pid: $0) }.map { Double($0) / 1_048_576 }
            let idleListener = Double(residentBytes(pid: listenerPid) ?? 0) / 1_048_576
            let idlePss = pids.values.compactMap { proportionalBytes(pid: $0) }.map { Double($0) / 1_048_576 }
            let idleAnon = pids.values.compactMap { anonymousBytes(pid: $0) }.map { Double($0) / 1_048_576 }
            let redisRSS =
                Double(environment.redisServers.reduce(0) { $0 + (residentBytes(pid: $1.pid) ?? 0) }) / 1_048_576

            var executors: [String: [String]] = [:]
            for app in environment.appNames { executors[app] = try environment.onlineExecutors(app) }
            let workload = Workload(executors: executors, apps: environment.appNames)
            let load = TCPLoad(workload: workload, stream: "r\(run)", total: Int(rate * seconds), connections: 2)
            let started = monotonicNanos()
            try load.start(port: environment.tcpPort, rate: rate)
            var loadWorkerMax = 0.0
            var loadListenerMax = 0.0
            while Double(monotonicNanos() - started) / 1e9 < seconds {
                sleepMillis(250)
                for pid in pids.values {
                    loadWorkerMax = max(loadWorkerMax, Double(residentBytes(pid: pid) ?? 0) / 1_048_576)
                }
                loadListenerMax = max(loadListenerMax, Double(residentBytes(pid: listenerPid) ?? 0) / 1_048_576)
            }
            load.join()
            let watch = try AppliedWatch(environment: environment)
            let appliedAll = try watch.wait(for: load.perApp, timeout: 120)
            let appliedRate = Double(load.oks) / (Double(monotonicNanos() - started) / 1e9)
            for pid in pids.values {
                loadWorkerMax = max(loadWorkerMax, Double(residentBytes(pid: pid) ?? 0) / 1_048_576)
            }
            loadListenerMax = max(loadListenerMax, Double(residentBytes(pid: listenerPid) ?? 0) / 1_048_576)

            report.add("startup_all_status_s", statusSeconds, unit: "s (every worker answers status)")
            report.add("startup_all_online_s", readySeconds, unit: "s (every app has its online set)")
            report.add("worker_rss_idle_median_mb", Stats.median(idleWorkers), unit: "MiB (target <= 20)")
            report.add("worker_rss_idle_max_mb", idleWorkers.max() ?? .nan, unit: "MiB")
            report.add("worker_pss_idle_median_mb", Stats.median(idlePss), unit: "MiB (shared libraries split 50 ways)")
            report.add("worker_anon_idle_median_mb", Stats.median(idleAnon), unit: "MiB (private heap + stacks)")
            report.add("listener_rss_idle_mb", idleListener, unit: "MiB (target <= 64)")
            report.add("worker_rss_load_max_mb", loadWorkerMax, unit: "MiB")
            report.add("listener_rss_load_max_mb", loadListenerMax, unit: "MiB")
            report.add("total_rss_idle_mb", idleWorkers.reduce(0, +) + idleListener, unit: "MiB (listener + workers)")
            report.add("redis_rss_mb", redisRSS, unit: "MiB (anchor: the redis-servers, one per 16 apps)")
            report.add("load_applied_per_s", appliedAll ? appliedRate : .nan, unit: "msgs/s")
            print("run \(run) done")
        }
        report.printTable()
        report.printResult(
            [
                ("startup_s", "startup_all_status_s"), ("online_s", "startup_all_online_s"),
                ("worker_rss_idle_mb", "worker_rss_idle_median_mb"),
                ("worker_rss_idle_max_mb", "worker_rss_idle_max_mb"),
                ("worker_pss_idle_mb", "worker_pss_idle_median_mb"),
                ("worker_anon_idle_mb", "worker_anon_idle_median_mb"),
                ("listener_rss_idle_mb", "listener_rss_idle_mb"), ("worker_rss_load_max_mb", "worker_rss_load_max_mb"),
                ("listener_rss_load_mb", "listener_rss_load_max_mb"), ("redis_rss_mb", "redis_rss_mb"),
            ],
            extra: [("runs", String(common.runs)), ("apps", String(apps))])
    }

    /// Seconds from the listener's start until every app's socket answers `{"op":"status"}`.
    private func waitForStatus(_ environment: BenchEnvironment, timeout: Double = 120) throws -> Double {
        var pending = Set(environment.appNames)
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while !pending.isEmpty {
            guard monotonicNanos() < deadline else {
                throw BenchFailure("status not answered by \(pending.count) workers")
            }
            guard environment.listener?.isRunning == true else {
                throw BenchFailure("listener exited: \(environment.tail(of: "listener.log"))")
            }
            for app in pending {
                guard let socket = try? LineSocket(unixPath: environment.runDir + "/\(app).sock") else { continue }
                socket.setReceiveTimeout(0.5)
                if (try? socket.write("{\"op\":\"status\"}\n")) != nil, let line = try? socket.readLine(),
                    line.contains("\"pid\"")
                {
                    pending.remove(app)
                }
            }
            if !pending.isEmpty { sleepMillis(5) }
        }
        return Double(monotonicNanos() - environment.listenerStartedAt) / 1e9
    }
}
