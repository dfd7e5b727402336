import ArgumentParser
import Foundation

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimic-bench",
        abstract: "Measures the real mimic-listener and mimic-worker processes against a private Redis, "
            + "with same-run baselines (a plain Unix-socket relay, Redis's own pipelined rate).",
        subcommands: [
            ThroughputMode.self, LatencyMode.self, RecoveryMode.self, FleetMode.self, FailoverMode.self,
            BaselineMode.self,
        ]
    )
}

/// Options every mode takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "Repetitions; the table shows each run and the median.")
    var runs = 5

    @Option(help: "Directory holding mimic-listener and mimic-worker (default: next to this binary).")
    var binDir: String?

    @Option(help: "trivial (hooks that start no process) or examples (examples/hooks: real local executors).")
    var hooks = "trivial"

    @Option(help: "Path of the repository's examples directory (for --hooks examples).")
    var examplesDir = "examples"

    @Option(help: "Listener fsync policy: always | batch | none.")
    var fsync = "batch"

    var resolvedBinDir: String {
        if let binDir { return URL(fileURLWithPath: binDir).standardizedFileURL.path }
        let own =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (own as NSString).deletingLastPathComponent
    }

    func environmentOptions(apps: Int) throws -> BenchEnvironment.Options {
        guard let hooks = BenchEnvironment.Hooks(rawValue: hooks) else {
            throw ValidationError("--hooks must be trivial or examples")
        }
        return .init(apps: apps, binDir: resolvedBinDir, fsync: fsync, hooks: hooks, examplesDir: examplesDir)
    }

    /// Starts a fresh environment, runs `body`, always shuts it down.
    func withEnvironment<T>(apps: Int, standby: Int? = nil, _ body: (BenchEnvironment) throws -> T) throws -> T {
        var options = try environmentOptions(apps: apps)
        if let standby { options.standby = standby }
        let environment = try BenchEnvironment(options)
        defer { environment.shutdown() }
        try environment.startRedis()
        try environment.startListener()
        try environment.waitReady()
        return try body(environment)
    }

    func machineLine() -> String {
        var load = "-"
        if let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            load = text.split(separator: " ").prefix(3).joined(separator: " ")
        }
        return "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, "
            + "\(ProcessInfo.processInfo.physicalMemory >> 30) GiB, load average \(load) (shared machine: figures are noisy)"
    }
}
