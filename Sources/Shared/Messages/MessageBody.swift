/// The typed body of an envelope, taken from its JSON once the (source, type) pair is known.
public enum MessageBody: Sendable, Equatable {
    case health(HealthReport)
    case arbitration(Arbitration)
    case alert(Alert)
    case list(ListChange)
    case setState(SetStateRequest)
    case rotate
    case pause
    case resume
}

public struct HealthReport: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable { case up, down, degraded }
    public var executor: String
    public var status: Status
    public var latencyMs: Double?

    /// Also built outside message validation, by the attack simulation's health blips.
    public init(executor: String, status: Status, latencyMs: Double?) {
        self.executor = executor
        self.status = status
        self.latencyMs = latencyMs
    }
}

public struct Arbitration: Sendable, Equatable {
    public var requestId: String?
    public var url: String?
    public var method: String?
    public var executors: [String]
    /// Empty means the executors agreed.
    public var dissenters: [String]

    public init(requestId: String?, url: String?, method: String?, executors: [String], dissenters: [String]) {
        self.requestId = requestId
        self.url = url
        self.method = method
        self.executors = executors
        self.dissenters = dissenters
    }
}

public enum Severity: String, Sendable, Equatable, Comparable {
    case low, medium, high, critical

    private var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

public struct Alert: Sendable, Equatable {
    /// Exactly one of `executor` and `address` is set.
    public var executor: String?
    public var address: String?
    public var severity: Severity
    public var rule: String?
    public var kind: String?
    public var url: String?
}

public struct ListChange: Sendable, Equatable {
    public enum List: String, Sendable, Equatable { case blacklist, whitelist }
    public enum Op: String, Sendable, Equatable { case add, remove }
    public var list: List
    public var op: Op
    public var url: String
    /// Time to live of an added entry, nil for permanent.
    public var ttl: Duration?
}

public struct SetStateRequest: Sendable, Equatable {
    public enum Target: String, Sendable, Equatable { case online, offline, standby, cleaning }
    public var executor: String
    public var state: Target
    public var reason: String?
}
