import Foundation

/// A child process the bench started and stops by its own pid (never by name: other agents share
/// this machine and may run the same binaries).
final class ManagedProcess: @unchecked Sendable {
    let process = Process()
    let name: String

    init(
        name: String, executable: String, arguments: [String], logPath: String,
        environment: [String: String] = [:], directory: String? = nil
    ) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 10) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = monotonicNanos() + UInt64(grace * 1e9)
        while process.isRunning, monotonicNanos() < deadline { sleepMillis(10) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS), or nil if gone.
func residentBytes(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return digits.map { $0 * 1024 }
    }
    return nil
}

/// Proportional set size in bytes (/proc/<pid>/smaps_rollup, Pss): shared library pages divided
/// among the processes mapping them, i.e. what one more worker really adds when 50 run.
func proportionalBytes(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("Pss:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}

/// Private anonymous resident memory (RssAnon in /proc/<pid>/status): heap and stacks, not libraries.
func anonymousBytes(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("RssAnon:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}
