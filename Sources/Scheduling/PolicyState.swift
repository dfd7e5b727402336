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
    /// Lists from the app config, added (permanently) at start.
    var configuredLists: Lists

    init(config: AppConfig) {
        degradedThreshold = config.scheduling.abnormalDegraded
        lowSeverityThreshold = config.scheduling.abnormalLowSeverity
        dirtyTTLMs = config.replicas.dirtyTTL.milliseconds
        feedback = config.scheduling.feedback
        rotateEveryMs = config.scheduling.rotateEvery.milliseconds
        rotateJitter = config.scheduling.rotateJitter
        configuredLists = config.lists
    }
}

/// What the policies remember between events. Counters live in memory only: a restart forgives
/// what happened before it (as the dissent times do); the lists are loaded from Redis.
struct PolicyState: Sendable {
    /// One dissent of an executor on a URL, kept to recognise a URL that makes several variants
    /// dissent (negative feedback) and to forgive those dissents when it does.
    struct URLDissent: Sendable, Equatable {
        var time: Int64
        var executor: String
        var variant: String
    }

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

    /// Appends `now` to the times of `id` kept inside `window` and returns how many there are.
    static func count(_ times: inout [String: [Int64]], _ id: String, now: Int64, window: Int64) -> Int {
        var kept = times[id, default: []].filter { now - $0 < window }
        kept.append(now)
        times[id] = kept
        return kept.count
    }

    mutating func forget(_ id: String) {
        degradedTimes[id] = nil
        lowAlertTimes[id] = nil
    }
}
