import Foundation

/// One executor as the scheduler knows it. One codec for its two forms: the hash
/// `mimic:{app}:exec:{id}` (DESIGN section 6; written by the worker's commits, read back at start
/// and by mimicctl) and the JSON objects of the worker's `executors` answer.
public struct Executor: Sendable, Equatable, Codable {
    public var id: String
    public var variant: String
    public var host: String
    /// `host:port` the brackets talk to; empty until the driver has created it.
    public var endpoint: String
    public var state: ExecutorState
    /// Unix milliseconds of the last state change.
    public var since: Int64
    /// 0...1; falls on dissent, recovers on agreement; published as the right bracket's weight.
    public var confidence: Double
    /// Dissents inside the abnormal window.
    public var dissents: Int
    public var reason: String
    /// Abnormal but kept online because replacing it would drop online below `min_online`.
    public var flagged: Bool

    public init(
        id: String, variant: String, host: String, endpoint: String = "", state: ExecutorState, since: Int64,
        confidence: Double = 1.0, dissents: Int = 0, reason: String, flagged: Bool = false
    ) {
        self.id = id
        self.variant = variant
        self.host = host
        self.endpoint = endpoint
        self.state = state
        self.since = since
        self.confidence = confidence
        self.dissents = dissents
        self.reason = reason
        self.flagged = flagged
    }

    // MARK: The Redis hash

    /// Field, value, … as HSET takes them.
    public var hashFields: [String] {
        [
            "id", id, "variant", variant, "host", host, "endpoint", endpoint, "state", state.rawValue,
            "since", "\(since)", "confidence", String(format: "%.4f", confidence), "dissents", "\(dissents)",
            "reason", reason, "flagged", flagged ? "1" : "0",
        ]
    }

    /// Reads the hash as HGETALL returns it; nil when it lacks what identifies an executor (id,
    /// variant, host, a known state). Missing counters take their initial values.
    public init?(hash: [String: String]) {
        guard let id = hash["id"], let variant = hash["variant"], let host = hash["host"],
            let state = hash["state"].flatMap(ExecutorState.init(rawValue:))
        else { return nil }
        self.init(
            id: id, variant: variant, host: host, endpoint: hash["endpoint"] ?? "", state: state,
            since: hash["since"].flatMap { Int64($0) } ?? 0,
            confidence: hash["confidence"].flatMap { Double($0) } ?? 1,
            dissents: hash["dissents"].flatMap { Int($0) } ?? 0, reason: hash["reason"] ?? "",
            flagged: hash["flagged"] == "1")
    }
}
