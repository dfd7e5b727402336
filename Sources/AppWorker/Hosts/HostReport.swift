/// A host's health as its probe decided it (HAProxy semantics: `fall` failed probes in a row make
/// it down, `rise` successful ones make it up again).
struct HostReport: Sendable, Equatable {
    var host: String
    var up: Bool
    /// Failed probes in a row when the report was made (0 when up).
    var failures: Int
    /// The last probe's outcome, e.g. "connect to 10.0.0.11:2375: connection refused".
    var detail: String
}

/// What the drivers listed at one online check. Only hosts whose list succeeded are compared;
/// executors whose state changed after `startedAt` are left for the next check, since the list
/// may predate their creation or cleaning.
struct OnlineCheckReport: Sendable, Equatable {
    /// Host name to the executor ids its driver lists.
    var listed: [String: [String]]
    /// Host name to the error its list call ended with.
    var failed: [String: String]
    /// Unix milliseconds when the lists were requested.
    var startedAt: Int64
}
