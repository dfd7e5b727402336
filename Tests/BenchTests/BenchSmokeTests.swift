import Foundation
import Testing
import TestSupport

/// The bench binary runs and ends with its machine-readable line. Deliberately tiny and with no
/// assertion on any figure: timed assertions do not belong in `make test` (see `make bench`).
@Suite(.serialized) struct BenchSmokeTests {
    @Test func baselinePrintsResultLine() throws {
        let output = try runBench(["baseline", "--runs", "1", "--messages", "2000"])
        #expect(output.lastNonEmptyLine.hasPrefix("RESULT mode=baseline "))
    }

    @Test func throughputOverTCPPrintsResultLine() throws {
        let output = try runBench(["throughput", "--runs", "1", "--messages", "600", "--apps", "1",
                                   "--connections", "1", "--transport", "tcp"])
        let last = output.lastNonEmptyLine
        #expect(last.hasPrefix("RESULT mode=throughput "))
        #expect(last.contains("applied_per_s="))
    }

    private func runBench(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltProducts.path("mimic-bench"))
        let bin = URL(fileURLWithPath: try BuiltProducts.path("mimic-listener")).deletingLastPathComponent().path
        process.arguments = arguments + ["--bin-dir", bin]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        return text
    }
}

private extension String {
    var lastNonEmptyLine: String {
        split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init) ?? ""
    }
}
