import Foundation
import Shared

/// The worker's side of `<run_dir>/<app>.sock` as an operator client uses it (DESIGN section 5):
/// one `{"op":...}` line out, one JSON line back. Field names of the answers are read here only.
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

    static func request(_ path: String, op: String) throws(Failure) -> [String: Any] {
        let line: String?
        do throws(SocketFailure) {
            let socket = try LineSocket(unixPath: path, timeout: timeout)
            try socket.write("{\"op\":\"\(op)\"}\n")
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
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw .failed("the worker answered with something that is not a JSON object: \(line.prefix(120))")
        }
        if let error = object["error"] as? String { throw .failed("the worker refused \(op): \(error)") }
        return object
    }

    /// `{"op":"status"}` in the few words `sockets` prints.
    struct Status {
        var pid: Int?
        var redis: String
        var counts: [String: Int]
        var appliedSeq: Int?
        var paused: Bool
        var uptimeSeconds: Int

        init(_ object: [String: Any]) {
            pid = (object["pid"] as? NSNumber)?.intValue
            redis = object["redis"] as? String ?? "?"
            counts = (object["counts"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
            appliedSeq = ((object["applied"] as? [String: Any])?["seq"] as? NSNumber)?.intValue
            paused = object["paused"] as? Bool ?? false
            uptimeSeconds = (object["uptime_s"] as? NSNumber)?.intValue ?? 0
        }

        var summary: String {
            let online = counts["online", default: 0]
            let standby = counts["standby", default: 0]
            var text = "redis \(redis), online \(online), standby \(standby)"
            let others = counts.filter { !["online", "standby"].contains($0.key) && $0.value > 0 }.sorted { $0.key < $1.key }
            for (state, count) in others { text += ", \(state) \(count)" }
            text += ", applied \(appliedSeq.map(String.init) ?? "-"), up \(Output.duration(seconds: Int64(uptimeSeconds)))"
            if paused { text += ", paused" }
            return text
        }
    }

    /// `{"op":"executors"}` as executor rows.
    static func executors(_ object: [String: Any]) -> [ExecutorRow] {
        (object["executors"] as? [[String: Any]] ?? []).map { item in
            ExecutorRow(
                id: item["id"] as? String ?? "?",
                variant: item["variant"] as? String ?? "",
                host: item["host"] as? String ?? "",
                endpoint: item["endpoint"] as? String ?? "",
                state: item["state"] as? String ?? "?",
                since: (item["since"] as? NSNumber)?.int64Value,
                confidence: (item["confidence"] as? NSNumber)?.doubleValue,
                dissents: (item["dissents"] as? NSNumber)?.intValue ?? 0,
                reason: item["reason"] as? String ?? "",
                flagged: item["flagged"] as? Bool ?? false)
        }
    }
}

/// One executor as `executors` shows it, whether read from the worker or from Redis.
struct ExecutorRow {
    var id: String
    var variant: String
    var host: String
    var endpoint: String
    var state: String
    /// Unix milliseconds of the last state change.
    var since: Int64?
    var confidence: Double?
    var dissents: Int
    var reason: String
    /// Only the worker knows this (an anomaly it could not act on yet); Redis has no such field.
    var flagged: Bool

    var json: [String: Any] {
        ["id": id, "variant": variant, "host": host, "endpoint": endpoint, "state": state,
         "since": since.map { NSNumber(value: $0) } ?? NSNull(), "confidence": confidence.map { NSNumber(value: $0) } ?? NSNull(),
         "dissents": dissents, "reason": reason, "flagged": flagged]
    }
}
