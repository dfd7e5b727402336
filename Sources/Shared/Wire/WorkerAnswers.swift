import Foundation

/// The worker's answers on `<run_dir>/<app>.sock` (DESIGN section 5), one JSON line each: written by
/// the worker's socket server, read by the listener (page, adoption probe) and by mimicctl.

/// `{"op":"status"}`.
public struct WorkerStatus: Sendable, Equatable, Codable {
    public struct Applied: Sendable, Equatable, Codable {
        public var epoch: String
        public var seq: UInt64
        public init(epoch: String, seq: UInt64) {
            self.epoch = epoch
            self.seq = seq
        }
    }

    public var app: String
    public var pid: Int
    /// `up` or `down`.
    public var redis: String
    public var redisError: String?
    /// False until the worker has loaded its state from Redis.
    public var loaded: Bool
    /// Executors per state name, every state present.
    public var counts: [String: Int]
    public var paused: Bool
    public var onlineVersion: Int
    /// Host name to `up` or `down`, as the pool last decided it.
    public var hosts: [String: String]
    public var uptimeSeconds: Int
    /// Null until the first frame of a journal epoch was applied.
    public var applied: Applied?
    /// Frames dead-lettered (the worker died on them three times in a row) and journal seqs skipped
    /// because the listener no longer had them, since the app's state was created (DESIGN section 10).
    public var deadLetters: Int64
    public var skipped: Int64
    /// The syslog exporter's state; absent when `log_export` is not configured.
    public var logExport: LogExportStatus?

    public init(
        app: String, pid: Int, redis: String, redisError: String? = nil, loaded: Bool, counts: [String: Int],
        paused: Bool, onlineVersion: Int, hosts: [String: String], uptimeSeconds: Int, applied: Applied?,
        deadLetters: Int64 = 0, skipped: Int64 = 0, logExport: LogExportStatus? = nil
    ) {
        self.app = app
        self.pid = pid
        self.redis = redis
        self.redisError = redisError
        self.loaded = loaded
        self.counts = counts
        self.paused = paused
        self.onlineVersion = onlineVersion
        self.hosts = hosts
        self.uptimeSeconds = uptimeSeconds
        self.applied = applied
        self.deadLetters = deadLetters
        self.skipped = skipped
        self.logExport = logExport
    }

    enum CodingKeys: String, CodingKey {
        case app, pid, redis, loaded, counts, paused, hosts, applied, skipped
        case logExport = "log_export"
        case deadLetters = "dead_letters"
        case redisError = "redis_error"
        case onlineVersion = "online_version"
        case uptimeSeconds = "uptime_s"
    }

    /// `applied` is written as null when absent (the contract has the key), `redis_error` only when set.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(app, forKey: .app)
        try container.encode(pid, forKey: .pid)
        try container.encode(redis, forKey: .redis)
        try container.encodeIfPresent(redisError, forKey: .redisError)
        try container.encode(loaded, forKey: .loaded)
        try container.encode(counts, forKey: .counts)
        try container.encode(paused, forKey: .paused)
        try container.encode(onlineVersion, forKey: .onlineVersion)
        try container.encode(hosts, forKey: .hosts)
        try container.encode(uptimeSeconds, forKey: .uptimeSeconds)
        try container.encode(applied, forKey: .applied)
        try container.encode(deadLetters, forKey: .deadLetters)
        try container.encode(skipped, forKey: .skipped)
        try container.encodeIfPresent(logExport, forKey: .logExport)
    }

    /// A worker of an earlier release has no counters: read as 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        app = try container.decode(String.self, forKey: .app)
        pid = try container.decode(Int.self, forKey: .pid)
        redis = try container.decode(String.self, forKey: .redis)
        redisError = try container.decodeIfPresent(String.self, forKey: .redisError)
        loaded = try container.decode(Bool.self, forKey: .loaded)
        counts = try container.decode([String: Int].self, forKey: .counts)
        paused = try container.decode(Bool.self, forKey: .paused)
        onlineVersion = try container.decode(Int.self, forKey: .onlineVersion)
        hosts = try container.decode([String: String].self, forKey: .hosts)
        uptimeSeconds = try container.decode(Int.self, forKey: .uptimeSeconds)
        applied = try container.decodeIfPresent(Applied.self, forKey: .applied)
        deadLetters = try container.decodeIfPresent(Int64.self, forKey: .deadLetters) ?? 0
        skipped = try container.decodeIfPresent(Int64.self, forKey: .skipped) ?? 0
        logExport = try container.decodeIfPresent(LogExportStatus.self, forKey: .logExport)
    }
}

/// `{"op":"executors"}`: every executor the worker knows, by id.
public struct WorkerExecutors: Sendable, Equatable, Codable {
    public var app: String
    public var executors: [Executor]
    /// Executor id to the manifest of its newest forensics capture; absent from older workers'
    /// answers and when no executor has one.
    public var evidence: [String: String]?
    public init(app: String, executors: [Executor], evidence: [String: String]? = nil) {
        self.app = app
        self.executors = executors
        self.evidence = evidence
    }
}

/// `{"op":"events"}`: the newest committed events, oldest first, each the field map of its
/// `mimic:{app}:events` entry.
public struct WorkerEvents: Sendable, Equatable, Codable {
    public var app: String
    public var events: [[String: String]]
    public init(app: String, events: [[String: String]]) {
        self.app = app
        self.events = events
    }
}

/// `{"op":"ping"}`.
public struct WorkerPong: Sendable, Equatable, Codable {
    public var pong: Bool
    public init() { pong = true }
}

/// A line the worker could not serve: `{"error":"…"}`, with the frame's `seq` or the message `id`
/// when the line had one.
public struct WorkerRefusal: Sendable, Equatable, Codable, Error {
    public var error: String
    public var seq: UInt64?
    public var id: String?
    public init(error: String, seq: UInt64? = nil, id: String? = nil) {
        self.error = error
        self.seq = seq
        self.id = id
    }
}

/// Why an answer line is not the answer asked for; `description` names the question.
public enum WorkerAnswerProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The worker answered `{"error": …}`.
    case refused(op: SocketOp, reason: String)
    /// Neither the answer nor a refusal.
    case unreadable(op: SocketOp, detail: String, line: String)

    public var description: String {
        switch self {
        case .refused(let op, let reason): "refused \(op.rawValue): \(reason)"
        case .unreadable(let op, let detail, let line):
            "answered \(op.rawValue) with something that is not its answer (\(detail)): \(line.prefix(120))"
        }
    }
}

extension SocketOp {
    /// Reads the worker's answer line to this question: the typed answer, or why it is not one. The
    /// answer is tried first, so the usual case decodes once.
    public func read<Answer: Decodable>(_ type: Answer.Type, from line: String) -> Result<Answer, WorkerAnswerProblem> {
        let data = Data(line.utf8)
        do {
            return .success(try JSONDecoder().decode(type, from: data))
        } catch {
            if let refusal = try? JSONDecoder().decode(WorkerRefusal.self, from: data) {
                return .failure(.refused(op: self, reason: refusal.error))
            }
            return .failure(.unreadable(op: self, detail: "\(error)", line: line))
        }
    }
}

/// `{"op":"metrics"}`: the worker's metrics as Prometheus text exposition (format 0.0.4), inside
/// one JSON line as the socket speaks NDJSON.
public struct WorkerMetricsAnswer: Sendable, Equatable, Codable {
    public var app: String
    public var metrics: String

    public init(app: String, metrics: String) {
        self.app = app
        self.metrics = metrics
    }
}
