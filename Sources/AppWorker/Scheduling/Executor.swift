/// One executor as the scheduler knows it; mirrored field by field in `mimic:{app}:exec:{id}`.
struct Executor: Sendable, Equatable {
    var id: String
    var variant: String
    var host: String
    /// `host:port` the brackets talk to; empty until the driver has created it.
    var endpoint: String
    var state: ExecutorState
    /// Unix milliseconds of the last state change.
    var since: Int64
    /// 0...1; falls on dissent, recovers on agreement; published as the right bracket's weight.
    var confidence: Double
    /// Dissents inside the abnormal window.
    var dissents: Int
    var reason: String
    /// Abnormal but kept online because replacing it would drop online below `min_online`.
    var flagged: Bool

    init(id: String, variant: String, host: String, endpoint: String = "", state: ExecutorState, since: Int64,
         confidence: Double = 1.0, dissents: Int = 0, reason: String, flagged: Bool = false) {
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

    /// The address part of the endpoint, which WAF and firewall alerts may name.
    var address: String {
        guard let colon = endpoint.lastIndex(of: ":") else { return endpoint }
        return String(endpoint[..<colon])
    }
}
