/// One app as the listener reports it (`GET /v1/apps`, `GET /v1/apps/{app}`, and the head of each
/// app in `GET /v1/situation`; DESIGN section 4): its worker process, its journal and its rates.
/// Written by the listener, read by mimicctl, the bench and the page.
public struct AppStatus: Sendable, Equatable, Codable {
    public struct Worker: Sendable, Equatable, Codable {
        /// The listener's delivery link to the worker's socket is open.
        public var connected: Bool
        public var connects: Int
        /// running | starting | backoff | stopped | crash_loop | unsupervised | remote (cluster mode:
        /// the app is owned by another instance, which runs its worker)
        public var state: String
        public var pid: Int?
        public var restarts: Int
        public var lastExit: String?
        public var up: Bool
        /// Who listened on the app's socket when the listener last refused it for not being
        /// `worker_uid` (`uid U (pid P)`); absent once the right worker is connected.
        public var refusedOwner: String?

        public init(
            connected: Bool, connects: Int, state: String, pid: Int?, restarts: Int, lastExit: String?, up: Bool
        ) {
            self.connected = connected
            self.connects = connects
            self.state = state
            self.pid = pid
            self.restarts = restarts
            self.lastExit = lastExit
            self.up = up
        }

        enum CodingKeys: String, CodingKey {
            case connected, connects, state, pid, restarts, up
            case lastExit = "last_exit"
            case refusedOwner = "refused_owner"
        }

        /// pid and last_exit are written as null when unknown: readers find every key.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(connected, forKey: .connected)
            try container.encode(connects, forKey: .connects)
            try container.encode(state, forKey: .state)
            try container.encode(pid, forKey: .pid)
            try container.encode(restarts, forKey: .restarts)
            try container.encode(lastExit, forKey: .lastExit)
            try container.encode(up, forKey: .up)
            try container.encodeIfPresent(refusedOwner, forKey: .refusedOwner)
        }
    }

    public struct Journal: Sendable, Equatable, Codable {
        public var epoch: String
        public var lastSeq: UInt64
        /// Journaled and not yet acknowledged by the worker.
        public var backlogMessages: Int
        public var backlogBytes: Int
        public var segments: Int
        /// Seqs a worker asked for in its hello that the journal no longer held (older than
        /// `journal_retain`), skipped with a gap line since the listener started (DESIGN section 10).
        public var skipped: UInt64

        public init(
            epoch: String, lastSeq: UInt64, backlogMessages: Int, backlogBytes: Int, segments: Int, skipped: UInt64 = 0
        ) {
            self.epoch = epoch
            self.lastSeq = lastSeq
            self.backlogMessages = backlogMessages
            self.backlogBytes = backlogBytes
            self.segments = segments
            self.skipped = skipped
        }

        enum CodingKeys: String, CodingKey {
            case epoch, segments, skipped
            case lastSeq = "last_seq"
            case backlogMessages = "backlog_messages"
            case backlogBytes = "backlog_bytes"
        }

        /// `skipped` is absent in answers of listeners before it: 0.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            epoch = try container.decode(String.self, forKey: .epoch)
            lastSeq = try container.decode(UInt64.self, forKey: .lastSeq)
            backlogMessages = try container.decode(Int.self, forKey: .backlogMessages)
            backlogBytes = try container.decode(Int.self, forKey: .backlogBytes)
            segments = try container.decode(Int.self, forKey: .segments)
            skipped = try container.decodeIfPresent(UInt64.self, forKey: .skipped) ?? 0
        }
    }

    public struct Rates: Sendable, Equatable, Codable {
        public var acceptedPerSecond: Double
        public var ackedPerSecond: Double

        public init(acceptedPerSecond: Double, ackedPerSecond: Double) {
            self.acceptedPerSecond = acceptedPerSecond
            self.ackedPerSecond = ackedPerSecond
        }

        enum CodingKeys: String, CodingKey {
            case acceptedPerSecond = "accepted_per_s"
            case ackedPerSecond = "acked_per_s"
        }
    }

    public var app: String
    public var worker: Worker
    public var journal: Journal
    public var lastDeliveredSeq: UInt64
    public var lastAckedSeq: UInt64
    public var rates: Rates
    /// The instance that owns the app (DESIGN section 11): in cluster mode the holder of its lease,
    /// nil while nobody holds it; on one machine the listener's own `instance`.
    public var owner: String?

    public init(
        app: String, worker: Worker, journal: Journal, lastDeliveredSeq: UInt64, lastAckedSeq: UInt64,
        rates: Rates
    ) {
        self.app = app
        self.worker = worker
        self.journal = journal
        self.lastDeliveredSeq = lastDeliveredSeq
        self.lastAckedSeq = lastAckedSeq
        self.rates = rates
    }

    enum CodingKeys: String, CodingKey {
        case app, worker, journal, rates, owner
        case lastDeliveredSeq = "last_delivered_seq"
        case lastAckedSeq = "last_acked_seq"
    }
}

/// `GET /v1/apps`.
public struct AppStatusList: Sendable, Equatable, Codable {
    public var apps: [AppStatus]
    public init(apps: [AppStatus]) { self.apps = apps }
}
