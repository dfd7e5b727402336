import Scheduling

/// HAProxy's fall/rise rule as a value: `fall` failed probes in a row take a host down, `rise`
/// successful ones bring it up. The state starts unknown, so the first report after a start is
/// whichever threshold is reached first; the pool ignores a report that confirms what it knows.
struct ProbeCounter: Sendable, Equatable {
    let host: String
    let fall: Int
    let rise: Int
    private(set) var up: Bool?
    private(set) var failures = 0
    private(set) var successes = 0

    init(host: String, fall: Int, rise: Int) {
        self.host = host
        self.fall = max(1, fall)
        self.rise = max(1, rise)
    }

    /// Records one probe; returns a report when the host's state changes.
    mutating func record(_ outcome: ProbeOutcome) -> HostReport? {
        switch outcome {
        case .success(let detail):
            failures = 0
            successes += 1
            guard up != true, successes >= rise else { return nil }
            up = true
            return HostReport(host: host, up: true, failures: 0, detail: detail)
        case .failure(let detail):
            successes = 0
            failures += 1
            guard up != false, failures >= fall else { return nil }
            up = false
            return HostReport(host: host, up: false, failures: failures, detail: detail)
        }
    }
}

enum ProbeOutcome: Sendable, Equatable {
    case success(String)
    case failure(String)
}
