import Foundation

/// `{"op":"why","executor":"e1"}` (issue 18 item 5): the chain that put one executor in its state,
/// as the worker's committed state in Redis holds it. One codec for the worker's answer, the admin
/// door's `GET /v1/apps/{app}/executors/{id}/why`, `mimicctl why --json` and the page.
public struct ExecutorWhy: Sendable, Equatable, Codable {
    public var app: String
    /// The executor's hash as committed (`mimic:{app}:exec:{id}`).
    public var executor: Executor
    /// The events that named the executor, and the notes and list changes their messages caused
    /// besides, oldest first (newest last), at most `eventLimit`.
    public var events: [Event]
    /// How many stream entries were searched, newest first; older events of the executor may exist
    /// beyond them in a long stream.
    public var searched: Int
    public var policy: Policy

    /// Events kept in the answer: the newest of them.
    public static let eventLimit = 50
    /// Stream entries searched at most for them: a bounded read, whatever the stream holds.
    public static let searchLimit = 20_000

    public init(app: String, executor: Executor, events: [Event], searched: Int, policy: Policy) {
        self.app = app
        self.executor = executor
        self.events = events
        self.searched = searched
        self.policy = policy
    }

    /// One entry of `mimic:{app}:events` (DESIGN section 6) and, when the worker still holds it, the
    /// message its `cause` names.
    public struct Event: Sendable, Equatable, Codable {
        /// The stream entry id (`<ms>-<n>`).
        public var id: String
        /// Unix ms the decision was committed.
        public var time: Int64
        /// transition | note | list | host | …
        public var kind: String
        /// The executor the entry names; nil for entries that name none (a suspected URL).
        public var executor: String?
        public var from: String?
        public var to: String?
        public var reason: String
        /// A message id, or `driver`, `timer`, `startup`, `host:<name>`, `online-check`.
        public var cause: String
        /// For list entries: the URL pattern added or removed.
        public var url: String?
        /// The message behind `cause`, when the worker has it (it keeps the recent ones in memory).
        public var message: Envelope?

        public init(
            id: String, time: Int64, kind: String, executor: String? = nil, from: String? = nil, to: String? = nil,
            reason: String, cause: String, url: String? = nil, message: Envelope? = nil
        ) {
            self.id = id
            self.time = time
            self.kind = kind
            self.executor = executor
            self.from = from
            self.to = to
            self.reason = reason
            self.cause = cause
            self.url = url
            self.message = message
        }

        /// The entry as XRANGE returns its fields; nil for an entry without the fields every event
        /// has.
        public init?(id: String, fields: [String: String]) {
            guard let kind = fields["kind"] else { return nil }
            let time = fields["time"].flatMap { Int64($0) } ?? Int64(id.prefix { $0 != "-" }) ?? 0
            let executor = fields["executor"].flatMap { $0.isEmpty || $0 == "-" ? nil : $0 }
            self.init(
                id: id, time: time, kind: kind, executor: executor, from: fields["from"], to: fields["to"],
                reason: fields["reason"] ?? "", cause: fields["cause"] ?? "", url: fields["url"])
        }

        enum CodingKeys: String, CodingKey {
            case id, time, kind, executor, from, to, reason, cause, url, message
        }
    }

    /// The policy memory (`mimic:{app}:policy`) as it bears on this executor.
    public struct Policy: Sendable, Equatable, Codable {
        /// `scheduling.abnormal.window` in ms, and what counts inside it.
        public var windowMs: Int64
        /// Unix ms of each dissent inside the window, and how many eject it.
        public var dissents: [Int64]
        public var dissentThreshold: Int
        public var degraded: [Int64]
        public var degradedThreshold: Int
        public var lowAlerts: [Int64]
        public var lowAlertThreshold: Int
        public var confidence: Double
        public var variant: String
        /// 0.1...1: falls when executors of the variant dissent.
        public var variantTrust: Double
        /// The learned trust of the variant (its lowest on a pattern it is distrusted on); nil when
        /// learning is off.
        public var learnedTrust: Double?
        /// The URL patterns the variant has learned evidence on, least trusted first.
        public var patterns: [PatternTrust]
        /// URLs the executor's dissents still stand on (negative feedback, DESIGN section 7).
        public var urlDissents: [URLDissent]
        /// URLs suspected inside the window or by the messages that moved the executor: a suspicion
        /// without a majority forgave the dissents of that arbitration.
        public var suspectedURLs: [SuspectedURL]

        public init(
            windowMs: Int64, dissents: [Int64], dissentThreshold: Int, degraded: [Int64], degradedThreshold: Int,
            lowAlerts: [Int64], lowAlertThreshold: Int, confidence: Double, variant: String, variantTrust: Double,
            learnedTrust: Double?, patterns: [PatternTrust], urlDissents: [URLDissent], suspectedURLs: [SuspectedURL]
        ) {
            self.windowMs = windowMs
            self.dissents = dissents
            self.dissentThreshold = dissentThreshold
            self.degraded = degraded
            self.degradedThreshold = degradedThreshold
            self.lowAlerts = lowAlerts
            self.lowAlertThreshold = lowAlertThreshold
            self.confidence = confidence
            self.variant = variant
            self.variantTrust = variantTrust
            self.learnedTrust = learnedTrust
            self.patterns = patterns
            self.urlDissents = urlDissents
            self.suspectedURLs = suspectedURLs
        }

        enum CodingKeys: String, CodingKey {
            case dissents, degraded, confidence, variant, patterns
            case windowMs = "window_ms"
            case dissentThreshold = "dissent_threshold"
            case degradedThreshold = "degraded_threshold"
            case lowAlerts = "low_alerts"
            case lowAlertThreshold = "low_alert_threshold"
            case variantTrust = "variant_trust"
            case learnedTrust = "learned_trust"
            case urlDissents = "url_dissents"
            case suspectedURLs = "suspected_urls"
        }
    }

    public struct PatternTrust: Sendable, Equatable, Codable {
        public var pattern: String
        public var trust: Double
        public var agreements: Double
        public var dissents: Double
        public init(pattern: String, trust: Double, agreements: Double, dissents: Double) {
            self.pattern = pattern
            self.trust = trust
            self.agreements = agreements
            self.dissents = dissents
        }
    }

    public struct URLDissent: Sendable, Equatable, Codable {
        public var url: String
        public var time: Int64
        public init(url: String, time: Int64) {
            self.url = url
            self.time = time
        }
    }

    public struct SuspectedURL: Sendable, Equatable, Codable {
        public var url: String
        public var reason: String
        /// The message whose arbitration raised the suspicion.
        public var cause: String
        public var time: Int64
        public init(url: String, reason: String, cause: String, time: Int64) {
            self.url = url
            self.reason = reason
            self.cause = cause
            self.time = time
        }
    }
}

/// The question line of the `why` op: the only op that names something.
public struct WhyQuestion: Sendable, Equatable, Codable {
    public var op = SocketOp.why.rawValue
    public var executor: String

    public init(executor: String) {
        self.executor = executor
    }

    /// The line, newline included; the id is escaped like any JSON string.
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
