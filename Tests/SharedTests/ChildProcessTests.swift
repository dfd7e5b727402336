import Foundation
import Testing
import TestSupport

/// The test support's child processes (issue 17): a fixture's redis-server was left running after
/// `make test` because it inherited the test thread's blocked signal mask and never saw SIGTERM.
@Suite struct ChildProcessTests {
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
}
