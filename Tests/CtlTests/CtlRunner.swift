import Foundation
import TestSupport

/// Runs the built `mimicctl` as an operator would and hands back what it printed.
struct CtlResult {
    var status: Int32
    var stdout: String
    var stderr: String

    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// stdout as one JSON object (the `--json` output of most commands).
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestSupportError("not a JSON object: \(stdout)")
        }
        return object
    }

    /// stdout as JSON lines (`events --json`).
    func jsonLines() throws -> [[String: Any]] {
        try lines.map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestSupportError("not a JSON object: \(line)")
            }
            return object
        }
    }
}

enum Ctl {
    static func run(_ arguments: [String], stdin: String? = nil) throws -> CtlResult {
        let result = try ChildProcess.runCapturing(
            executable: BuiltProducts.path("mimicctl"), arguments: arguments, stdin: stdin)
        return CtlResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
}
