import Foundation

/// CPU seconds (user + system) a process has used, from /proc/<pid>/stat. On a machine shared with
/// other agents the wall-clock rate says how much CPU we were given; CPU time per message says
/// what the code costs, and 2 cores / cost is the rate this machine could reach if it were ours.
func cpuSeconds(pid: Int32) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return nil }
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU used by the listener, the workers and Redis between two samples.
struct CPUSample {
    var listener: Double
    var workers: Double
    var redis: Double

    static func take(_ environment: BenchEnvironment) throws -> CPUSample {
        let workers = try environment.workerPids().values.reduce(0.0) { $0 + (cpuSeconds(pid: $1) ?? 0) }
        return CPUSample(
            listener: environment.listener.flatMap { cpuSeconds(pid: $0.pid) } ?? 0,
            workers: workers,
            redis: environment.redisServers.reduce(0.0) { $0 + (cpuSeconds(pid: $1.pid) ?? 0) })
    }

    static func - (after: CPUSample, before: CPUSample) -> CPUSample {
        CPUSample(
            listener: after.listener - before.listener, workers: after.workers - before.workers,
            redis: after.redis - before.redis)
    }

    var total: Double { listener + workers + redis }
}

/// CPU time of the calling thread, in ns (`CLOCK_THREAD_CPUTIME_ID`): what a measuring loop cost,
/// whatever else the process runs.
func threadCPUNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}
