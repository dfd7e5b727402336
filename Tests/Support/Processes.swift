import Foundation
import Shared

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum TempDirectory {
    public static func make(prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

public enum FreePort {
    /// Binds port 0 on loopback and returns what the kernel chose; the socket is closed at once.
    public static func take() throws(SocketFailure) -> Int {
        try PosixSocket.freeLoopbackPort()
    }
}

/// Real child processes for tests: spawned by path, waited for, killed by PID.
public enum ChildProcess {
    /// Starts `executable` with stdout and stderr sent to `logFile` (or /dev/null) and returns its PID.
    public static func spawn(executable: String, arguments: [String], environment: [String: String]? = nil,
                             logFile: String? = nil, workingDirectory: String? = nil) throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        spawned.withLock { $0[process.processIdentifier] = process }
        return process.processIdentifier
    }

    /// Foundation reaps the children it spawns, so exit statuses are read from it, not waitpid.
    private static let spawned = LockedProcesses()

    /// The exit code of a child started by `spawn`, once it has exited normally; nil while running
    /// or when it died of a signal.
    public static func exitCode(_ pid: pid_t) -> Int32? {
        guard let process = spawned.withLock({ $0[pid] }) else { return nil }
        // Foundation learns of the exit on its own thread, a moment after the kernel reaped the
        // child: give it that moment when the process is already gone.
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, !isAlive(pid), Date() < deadline { usleep(5_000) }
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    /// Runs to completion and returns stdout; throws on non-zero exit with stderr in the message.
    @discardableResult
    public static func run(executable: String, arguments: [String], stdin: String? = nil) throws -> String {
        let result = try runCapturing(executable: executable, arguments: arguments, stdin: stdin)
        guard result.status == 0 else {
            throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    public static func runCapturing(executable: String, arguments: [String], stdin: String? = nil)
        throws -> (status: Int32, stdout: String, stderr: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdoutData, as: UTF8.self),
                String(decoding: stderrData, as: UTF8.self))
    }

    public static func isAlive(_ pid: pid_t) -> Bool { pid > 0 && Foundation.kill(pid, 0) == 0 && !isZombie(pid) }

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Sends `signal` and, for SIGKILL/SIGTERM, reaps the child if it is ours.
    public static func signal(_ pid: pid_t, _ signal: Int32) {
        guard pid > 0 else { return }
        Foundation.kill(pid, signal)
    }

    /// Waits until `pid` has exited (reaping it when it is our child).
    @discardableResult
    public static func waitForExit(_ pid: pid_t, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && Foundation.kill(pid, 0) != 0) { return true }
            if !isAlive(pid) { return true }
            usleep(10_000)
        }
        return false
    }
}

final class LockedProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [pid_t: Process] = [:]

    func withLock<T>(_ body: (inout [pid_t: Process]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&processes)
    }
}

/// Where `swift build` put the project's executables (`mimic-worker`, `mimic-listener`, `mimicctl`).
public enum BuiltProducts {
    public static func path(_ name: String) throws -> String {
        var candidates: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["MIMIC_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: dir))
        }
        // The test bundle sits in the same bin directory as the executables.
        var url = Bundle.main.bundleURL
        for _ in 0..<3 {
            candidates.append(url)
            url = url.deletingLastPathComponent()
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        for dir in candidates {
            let file = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: file) { return file }
        }
        throw TestSupportError("\(name) not built: run `swift build` first (looked in \(candidates.map(\.path)))")
    }

    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
