/// A host's health as its probe decided it (HAProxy semantics: `fall` failed probes in a row make
/// it down, `rise` successful ones make it up again).
package struct HostReport: Sendable, Equatable {
    package var host: String
    package var up: Bool
    /// Failed probes in a row when the report was made (0 when up).
    package var failures: Int
    /// The last probe's outcome, e.g. "connect to 10.0.0.11:2375: connection refused".
    package var detail: String

    package init(host: String, up: Bool, failures: Int, detail: String) {
        self.host = host
        self.up = up
        self.failures = failures
        self.detail = detail
    }
}

/// What the drivers listed at one online check. Only hosts whose list succeeded are compared;
/// executors whose state changed after `startedAt` are left for the next check, since the list
/// may predate their creation or cleaning.
package struct OnlineCheckReport: Sendable, Equatable {
    /// Host name to the executor ids its driver lists.
    package var listed: [String: [String]]
    /// Host name to the error its list call ended with.
    package var failed: [String: String]
    /// Unix milliseconds when the lists were requested.
    package var startedAt: Int64
    /// Host name to the listed executors that exist there but do not run (a container killed or
    /// exited behind the worker's back): an online or standby one among them is not serving.
    package var stopped: [String: Set<String>]

    package init(
        listed: [String: [String]], failed: [String: String], startedAt: Int64, stopped: [String: Set<String>] = [:]
    ) {
        self.listed = listed
        self.failed = failed
        self.startedAt = startedAt
        self.stopped = stopped
    }
}
