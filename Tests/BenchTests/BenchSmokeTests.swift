import Foundation
import TestSupport
import Testing

/// The bench binary runs and ends with its machine-readable line. Deliberately tiny and with no
/// assertion on any figure: timed assertions do not belong in `make test` (see `make bench`).
@Suite(.serialized, .startsProcesses) struct BenchSmokeTests {
    @Test func baselinePrintsResultLine() throws {
        let output = try runBench(["baseline", "--runs", "1", "--messages", "2000"])
        #expect(output.lastNonEmptyLine.hasPrefix("RESULT mode=baseline "))
    }

    @Test func throughputOverTCPPrintsResultLine() throws {
        let output = try runBench([
            "throughput", "--runs", "1", "--messages", "600", "--apps", "1",
            "--connections", "1", "--transport", "tcp",
        ])
        let last = output.lastNonEmptyLine
        #expect(last.hasPrefix("RESULT mode=throughput "))
        #expect(last.contains("applied_per_s="))
    }

    /// Triggers under a light background: the mode ends with its line, which says how many
    /// triggers named an executor that had left online before they were decided (not timed).
    @Test func latencyPrintsResultLineWithStaleTargets() throws {
        let output = try runBench([
            "latency", "--runs", "1", "--seconds", "2", "--rate", "300", "--connections", "1",
        ])
        let last = output.lastNonEmptyLine
        #expect(last.hasPrefix("RESULT mode=latency "))
        #expect(last.contains(" stale_target="), "\(last)")
        // The split of each trigger's wait, what the load cost and the anchors it is read against
        // (among them one thread wakeup under the run's load, and seven in a row).
        for key in [
            "journaled_p50_ms", "after_journal_p50_ms", "cpu_us_per_msg", "machine_busy", "wakeup_us",
            "switches_per_msg",
            "hop_cpu_share", "loaded_wakeup_p99_ms", "path_hops_p99_ms",
        ] {
            let value = last.split(separator: " ").first { $0.hasPrefix(key + "=") }?.dropFirst(key.count + 1)
            #expect(value.flatMap { Double($0) }.map { $0.isFinite && $0 > 0 } == true, "\(key) in \(last)")
        }
    }

    /// Two cluster instances, one killed: the mode ends with its line and lost 0 (a count, not a
    /// timing: every accepted message must be in effect however slow the machine).
    @Test func failoverPrintsResultLineAndLosesNothing() throws {
        let output = try runBench([
            "failover", "--runs", "1", "--apps", "2", "--rate", "200", "--seconds", "4", "--kill-at", "1",
            "--throughput-messages", "400",
        ])
        let last = output.lastNonEmptyLine
        #expect(last.hasPrefix("RESULT mode=failover "))
        #expect(last.contains(" lost=0.0000 "), "\(last)")
    }

    /// A real Sentinel topology under the cluster, its master killed: the mode ends with its line,
    /// and every acknowledged message is on the new master once (counts, not timings).
    @Test func masterKillPrintsResultLineAndLosesNothing() throws {
        let output = try runBench([
            "failover", "--fault", "master", "--runs", "1", "--apps", "2", "--rate", "200", "--seconds", "5",
            "--kill-at", "1",
        ])
        let last = output.lastNonEmptyLine
        #expect(last.hasPrefix("RESULT mode=failover "))
        #expect(last.contains(" fault=master "), "\(last)")
        #expect(last.contains(" master_lost=0.0000 "), "\(last)")
        #expect(last.contains(" master_duplicated=0.0000 "), "\(last)")
        #expect(!last.contains(" master_first_ack_ms=nan "), "\(last)")
    }

    private func runBench(_ arguments: [String]) throws -> String {
        // Through ChildProcess, so the bench (and the listener and workers it starts) gets a clean
        // signal mask. The RESULT line is on stdout; stderr only goes into a failure's message.
        let bin = URL(fileURLWithPath: try BuiltProducts.path("mimic-listener")).deletingLastPathComponent().path
        let result = try ChildProcess.runCapturing(
            executable: try BuiltProducts.path("mimic-bench"),
            arguments: arguments + ["--bin-dir", bin])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        return result.stdout
    }
}

extension String {
    fileprivate var lastNonEmptyLine: String {
        split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init) ?? ""
    }
}
