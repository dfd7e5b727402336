import Foundation
import Shared

/// The settings of the policies beyond the basic replacement rules (issue 4): thresholds that
/// count towards an anomaly, dirty TTL, negative feedback, timed rotation.
struct PolicySettings: Sendable, Equatable {
    var degradedThreshold: Int
    var lowSeverityThreshold: Int
    var dirtyTTLMs: Int64
    var feedback: Feedback
    var rotateEveryMs: Int64
    var rotateJitter: Double
    var rotatePerExecutor: Bool
    var learning: Learning
    /// Lists from the app config, added (permanently) at start.
    var configuredLists: Lists

    init(config: AppConfig) {
        degradedThreshold = config.scheduling.abnormalDegraded
        lowSeverityThreshold = config.scheduling.abnormalLowSeverity
        dirtyTTLMs = config.replicas.dirtyTTL.milliseconds
        feedback = config.scheduling.feedback
        rotateEveryMs = config.scheduling.rotateEvery.milliseconds
        rotateJitter = config.scheduling.rotateJitter
        rotatePerExecutor = config.scheduling.rotatePerExecutor
        learning = config.scheduling.learning
        configuredLists = config.lists
    }
}

/// What the policies remember between events: the memory later decisions depend on (DESIGN
/// section 10). Committed with the effects of each batch (`mimic:{app}:policy`, see
/// `PolicyMemory`) and loaded at start, so the same messages give the same decisions with or
/// without a restart in between. The lists are state of their own (`mimic:{app}:list:*`).
package struct PolicyState: Sendable, Equatable, Codable {
    /// One dissent of an executor on a URL, kept until an executor of the same variant agrees on
    /// that URL, to recognise a URL on which several variants are failing at once (negative
    /// feedback).
    struct URLDissent: Sendable, Equatable, Codable {
        var time: Int64
        var executor: String
        var variant: String
    }

    /// Dissent times per executor inside the abnormal window.
    var dissentTimes: [String: [Int64]] = [:]
    var degradedTimes: [String: [Int64]] = [:]
    var lowAlertTimes: [String: [Int64]] = [:]
    var urlDissents: [String: [URLDissent]] = [:]
    /// Per variant, 0.1...1: falls when its executors dissent, recovers when they agree; selection
    /// prefers the more trusted of equally distant candidates and weights random draws by it, so
    /// variants that dissent often are chosen less.
    var variantTrust: [String: Double] = [:]
    var lists = ListBook()
    /// When the last timed rotation happened, to coalesce clock ticks that queued up while the
    /// loop was blocked (a Redis outage) instead of rotating several times in a row.
    var lastTimedRotation: Int64?
    /// The self-learning negative feedback's evidence (`scheduling.learning`); nil until it first
    /// learns, so a memory written without learning reads back, and encodes, unchanged.
    var learned: LearnedTrust?

    init() {}

    private enum CodingKeys: String, CodingKey {
        case dissentTimes = "dissents"
        case degradedTimes = "degraded"
        case lowAlertTimes = "low_alerts"
        case urlDissents = "url_dissents"
        case variantTrust = "variant_trust"
        case lastTimedRotation = "last_rotation"
        case learned
    }

    /// Appends `now` to the times of `id` kept inside `window` and returns how many there are.
    static func count(_ times: inout [String: [Int64]], _ id: String, now: Int64, window: Int64) -> Int {
        var kept = times[id, default: []].filter { now - $0 < window }
        kept.append(now)
        times[id] = kept
        return kept.count
    }

    mutating func forget(_ id: String) {
        dissentTimes[id] = nil
        degradedTimes[id] = nil
        lowAlertTimes[id] = nil
    }
}

/// The policy memory as committed: the policies' state, the placement's memory of failing hosts,
/// and where the seeded random stream stands (a seeded pool draws the same standbys after a
/// restart as it would have without one).
package struct PolicyMemory: Sendable, Equatable, Codable {
    var policy: PolicyState
    var random: UInt64?
    var failedCreates: [String: Int] = [:]
    var creationStall: String?

    private enum CodingKeys: String, CodingKey {
        case policy
        case random
        case failedCreates = "failed_creates"
        case creationStall = "creation_stall"
    }

    init(policy: PolicyState, random: UInt64?, failedCreates: [String: Int] = [:], creationStall: String? = nil) {
        self.policy = policy
        self.random = random
        self.failedCreates = failedCreates
        self.creationStall = creationStall
    }

    package static let empty = PolicyMemory(policy: PolicyState(), random: nil)

    /// One line of JSON for `mimic:{app}:policy`; keys sorted so equal memories encode equally.
    package var json: String {
        (try? Self.encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// One for the process: every commit that changes the memory encodes it.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Nil when `text` is not a memory this version wrote (the caller starts without one, loudly).
    package init?(json text: String) {
        guard let decoded = try? JSONDecoder().decode(PolicyMemory.self, from: Data(text.utf8)) else { return nil }
        self = decoded
    }
}
