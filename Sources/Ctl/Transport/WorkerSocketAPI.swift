import Foundation
import Shared

/// The worker's side of `<run_dir>/<app>.sock` as an operator client uses it (DESIGN section 5):
/// one `{"op":...}` line out, one JSON line back, read with the answers' one codec.
enum WorkerSocketAPI {
    static let timeout: TimeInterval = 3

    enum Failure: Error, CustomStringConvertible {
        /// No such file.
        case missing
        /// The file exists but nobody accepts on it: a worker died without removing it.
        case stale
        case failed(String)

        var description: String {
            switch self {
            case .missing: "no socket file"
            case .stale: "stale socket (connection refused: no process listens on it)"
            case .failed(let reason): reason
            }
        }
    }

    /// One question, its typed answer (Sources/Shared/Wire/WorkerAnswers.swift).
    static func ask<Answer: Decodable>(_ path: String, _ op: SocketOp, as type: Answer.Type) throws(Failure) -> Answer {
        let line = try request(path, op: op)
        switch op.read(type, from: line) {
        case .success(let answer): return answer
        case .failure(let problem): throw .failed("the worker \(problem)")
        }
    }

    private static func request(_ path: String, op: SocketOp) throws(Failure) -> String {
        let line: String?
        do throws(SocketFailure) {
            let socket = try LineSocket(unixPath: path, timeout: timeout)
            try socket.write(op.line)
            line = try socket.readLine()
        } catch {
            switch error.kind {
            case .refused where error.operation == "connect": throw .stale
            case .missing where error.operation == "connect": throw .missing
            case .timedOut where error.operation == "read": throw .failed("timed out waiting for an answer")
            default: throw .failed(error.reason)
            }
        }
        guard let line else { throw .failed("the worker closed the connection without answering") }
        return line
    }
}

extension WorkerStatus {
    /// The few words `sockets` prints.
    var summary: String {
        let online = counts["online", default: 0]
        let standby = counts["standby", default: 0]
        var text = "redis \(redis), online \(online), standby \(standby)"
        let others = counts.filter { !["online", "standby"].contains($0.key) && $0.value > 0 }.sorted {
            $0.key < $1.key
        }
        for (state, count) in others { text += ", \(state) \(count)" }
        text +=
            ", applied \(applied.map { String($0.seq) } ?? "-"), up \(Output.duration(seconds: Int64(uptimeSeconds)))"
        if paused { text += ", paused" }
        return text
    }
}
