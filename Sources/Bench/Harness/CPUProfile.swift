import Foundation

/// `mimic-bench throughput --profile`: `perf record` on the listener, one worker and Redis while
/// the TCP load runs, then each one's top symbols by self time, so a figure comes with what
/// limits it. Needs `perf` (Debian's linux-perf) and permission to trace the processes.
final class CPUProfile {
    static let perf = "/usr/bin/perf"

    private struct Recording {
        var name: String
        var output: String
        var process: Process
    }

    private var recordings: [Recording] = []

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: perf) }

    /// Starts one recorder per process; `targets` are (name, pid).
    init(targets: [(name: String, pid: Int32)], directory: String) throws {
        for target in targets {
            let output = directory + "/perf-\(target.name).data"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.perf)
            process.arguments = ["record", "-F", "999", "-g", "-q", "-o", output, "-p", String(target.pid)]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            recordings.append(Recording(name: target.name, output: output, process: process))
        }
    }

    /// Stops the recorders (SIGINT makes perf write its file) and returns, per process, its top
    /// `count` symbols with their share of the samples.
    func finish(count: Int = 10) -> [(name: String, symbols: [String])] {
        for recording in recordings { recording.process.interrupt() }
        for recording in recordings { recording.process.waitUntilExit() }
        return recordings.map { recording in
            (recording.name, Self.topSymbols(recording.output, count: count))
        }
    }

    private static func topSymbols(_ file: String, count: Int) -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: perf)
        process.arguments = [
            "report", "-i", file, "--stdio", "--no-children", "--sort", "symbol", "-g", "none", "--percent-limit",
            "0.5",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return ["(perf report did not start)"] }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("%") }
        let rows = lines.prefix(count).map { line -> (share: String, symbol: String) in
            // "    12.34%  [.] symbol  -  -": the share, then the symbol without perf's empty columns.
            var parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            while parts.last == "-" { parts.removeLast() }
            guard parts.count >= 3 else { return (String(line), "") }
            return (parts[0], parts.dropFirst(2).joined(separator: " "))
        }
        let names = demangle(rows.map(\.symbol))
        return zip(rows, names).map { row, name in "\(row.share) \(name.prefix(120))" }
    }

    /// One swift-demangle for all the symbols (it reads them from stdin, one per line); the
    /// mangled names are kept when it is not on the PATH.
    private static func demangle(_ symbols: [String]) -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift-demangle", "--simplified", "--compact"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return symbols }
        input.fileHandleForWriting.write(Data((symbols.joined(separator: "\n") + "\n").utf8))
        try? input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let names = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard process.terminationStatus == 0, names.count >= symbols.count else { return symbols }
        return Array(names.prefix(symbols.count))
    }
}
