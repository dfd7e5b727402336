import Foundation

/// How often the listener's, the workers' and Redis's threads left the CPU (voluntary and
/// involuntary context switches, summed over every thread in /proc/<pid>/task): at a paced rate
/// each one is a wakeup to come, and `wakeup_cpu_us` says what one costs here.
struct ContextSwitches {
    var count: UInt64

    static func take(_ environment: BenchEnvironment) throws -> ContextSwitches {
        var pids = Array(try environment.workerPids().values)
        if let listener = environment.listener { pids.append(listener.pid) }
        pids += environment.redisServers.map(\.pid)
        return ContextSwitches(count: pids.reduce(0) { $0 &+ Self.of(pid: $1) })
    }

    static func - (after: ContextSwitches, before: ContextSwitches) -> ContextSwitches {
        ContextSwitches(count: after.count >= before.count ? after.count - before.count : 0)
    }

    /// A thread that ended between two samples takes its count with it; the fleet's threads live
    /// as long as their process.
    private static func of(pid: Int32) -> UInt64 {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return 0 }
        var total: UInt64 = 0
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else {
                continue
            }
            for line in text.split(separator: "\n")
            where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
                total &+=
                    line.split(separator: ":").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) } ?? 0
            }
        }
        return total
    }
}
