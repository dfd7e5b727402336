import Foundation
import TestSupport
import Testing

/// The test support's child processes (issue 17): a fixture's redis-server was left running after
/// `make test` because it inherited the test thread's blocked signal mask and never saw SIGTERM.
@Suite(.startsProcesses) struct ChildProcessTests {
    /// One `Sig…:` line of /proc/<pid>/status as a number (hex in the file).
    static func signalSet(_ pid: pid_t, _ name: String) throws -> UInt64 {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("\(name):") })
        return try #require(UInt64(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16))
    }

    @Test func aChildStartsWithNoSignalBlockedOrIgnoredAndSIGTERMEndsIt() throws {
        let pid = try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["60"])
        defer {
            ChildProcess.signal(pid, SIGKILL)
            ChildProcess.waitForExit(pid)
        }
        #expect(try Self.signalSet(pid, "SigBlk") == 0, "blocked in the child's mask")
        // Standard signals only: glibc's posix_spawn leaves its own internal ones (32, 33) ignored.
        #expect(try Self.signalSet(pid, "SigIgn") & 0x7fff_ffff == 0, "ignored by the child")
        ChildProcess.signal(pid, SIGTERM)
        #expect(ChildProcess.waitForExit(pid, timeout: 5), "SIGTERM ends the child")
        #expect(ChildProcess.exitCode(pid) == nil, "died of a signal, so no exit code")
    }

    @Test func stopSendsSIGKILLAfterTheGracePeriodToAChildThatIgnoresSIGTERM() throws {
        // The shell sets SIGTERM to ignored and execs: `sleep` keeps that disposition.
        let pid = try ChildProcess.spawn(executable: "/bin/sh", arguments: ["-c", "trap '' TERM; exec sleep 60"])
        defer {
            ChildProcess.signal(pid, SIGKILL)
            ChildProcess.waitForExit(pid)
        }
        // Until the exec the shell still has its own disposition; wait for `sleep` itself.
        #expect(
            eventually(timeout: 5) {
                ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").hasPrefix("sleep")
            })
        let started = Date()
        #expect(!ChildProcess.stop(pid, grace: 1), "not ended by SIGTERM")
        #expect(Date().timeIntervalSince(started) >= 1)
        #expect(!ChildProcess.isAlive(pid))
    }

    @Test func exitCodeLogFileWorkingDirectoryAndEnvironment() throws {
        let directory = try TempDirectory.make(prefix: "mimic-child")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("child.log").path
        try "from an earlier run\n".write(toFile: log, atomically: true, encoding: .utf8)
        let pid = try ChildProcess.spawn(
            executable: "/bin/sh", arguments: ["-c", "pwd; echo \"$MIMIC_CHILD_TEST\"; echo err >&2; exit 3"],
            environment: ["MIMIC_CHILD_TEST": "hello"], logFile: log,
            workingDirectory: directory.path)
        #expect(ChildProcess.waitForExit(pid, timeout: 10))
        #expect(ChildProcess.exitCode(pid) == 3)
        // The log starts afresh on every spawn, as a restarted fixture expects.
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(
            text == "\(directory.resolvingSymlinksInPath().path)\nhello\nerr\n"
                || text == "\(directory.path)\nhello\nerr\n", "\(text)")
    }

    @Test func runCapturingFeedsStdinAndSeparatesStdoutFromStderr() throws {
        // More than a pipe's buffer each way, so a sequential write-then-read would stall.
        let input = String(repeating: "0123456789abcdef\n", count: 20_000)
        let result = try ChildProcess.runCapturing(
            executable: "/bin/sh", arguments: ["-c", "cat; echo oops >&2; exit 4"], stdin: input)
        #expect(result.status == 4)
        #expect(result.stdout == input)
        #expect(result.stderr == "oops\n")
        #expect(try ChildProcess.run(executable: "/bin/echo", arguments: ["hi"]) == "hi\n")
    }
}
