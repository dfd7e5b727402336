/// `GET /v1/situation`: what the situational-awareness page draws. Per app, the listener's own view
/// joined with the worker's `status`, `executors` and `events` answers.
public struct Situation: Sendable, Equatable, Codable {
    /// Unix ms when the listener built it.
    public var time: Int64
    public var apps: [AppSituation]

    public init(time: Int64, apps: [AppSituation]) {
        self.time = time
        self.apps = apps
    }
}

/// One app of the situation: the keys of `AppStatus`, plus what the worker said (or why it did not).
public struct AppSituation: Sendable, Equatable, Codable {
    public var status: AppStatus
    /// The worker's `status` answer; null when it did not answer.
    public var scheduler: WorkerStatus?
    /// Why the worker's answers are missing (socket path and cause); absent when it answered.
    public var schedulerError: String?
    public var executors: [Executor]
    /// Oldest first, at most what the request asked for.
    public var events: [[String: String]]
    /// Executor id to the manifest of its newest forensics capture, for those that have one.
    public var evidence: [String: String]
    /// The worker's `lists` answer: black- and whitelist entries with their expiries; absent when
    /// the worker did not give one (a worker older than the op).
    public var lists: WorkerLists?

    public init(
        status: AppStatus, scheduler: WorkerStatus? = nil, schedulerError: String? = nil,
        executors: [Executor] = [], events: [[String: String]] = [], evidence: [String: String] = [:]
    ) {
        self.evidence = evidence
        self.status = status
        self.scheduler = scheduler
        self.schedulerError = schedulerError
        self.executors = executors
        self.events = events
    }

    enum CodingKeys: String, CodingKey {
        case scheduler, executors, events, evidence, lists
        case schedulerError = "scheduler_error"
    }

    public init(from decoder: any Decoder) throws {
        status = try AppStatus(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scheduler = try container.decodeIfPresent(WorkerStatus.self, forKey: .scheduler)
        schedulerError = try container.decodeIfPresent(String.self, forKey: .schedulerError)
        executors = try container.decode([Executor].self, forKey: .executors)
        events = try container.decode([[String: String]].self, forKey: .events)
        evidence = try container.decodeIfPresent([String: String].self, forKey: .evidence) ?? [:]
        lists = try container.decodeIfPresent(WorkerLists.self, forKey: .lists)
    }

    /// Flat: the app's status keys and these side by side in one object, as the page reads them.
    public func encode(to encoder: any Encoder) throws {
        try status.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(scheduler, forKey: .scheduler)
        try container.encodeIfPresent(schedulerError, forKey: .schedulerError)
        try container.encode(executors, forKey: .executors)
        try container.encode(events, forKey: .events)
        try container.encode(evidence, forKey: .evidence)
        try container.encodeIfPresent(lists, forKey: .lists)
    }
}
