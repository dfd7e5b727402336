import Shared

/// The executors of one app and the rules that move them (DESIGN section 7), as a pure state
/// machine: `handle` takes an event and the current time and returns the decision to commit.
/// No I/O happens here, so every rule is tested without Redis or hosts. Rule families live in
/// extensions in files of their own (`ExecutorPool+*.swift`) and share these helpers.
struct ExecutorPool: Sendable {
    struct Settings: Sendable, Equatable {
        var replicas: Replicas
        var abnormalDissents: Int
        var abnormalWindowMs: Int64
        var selection: StandbySelection
        var placement: Placement
        var policy: PolicySettings

        init(config: AppConfig) {
            replicas = config.replicas
            abnormalDissents = config.scheduling.abnormalDissents
            abnormalWindowMs = config.scheduling.abnormalWindow.milliseconds
            selection = StandbySelection(
                strategy: config.scheduling.strategy,
                traits: Dictionary(config.variants.map { ($0.name, $0.traits) }, uniquingKeysWith: { a, _ in a }))
            placement = Placement(variants: config.variants.map(\.name),
                                  hosts: config.hosts.map(\.name))
            policy = PolicySettings(config: config)
        }
    }

    /// What survives a restart besides the executors: stored in `mimic:{app}:meta`.
    struct Meta: Sendable, Equatable {
        var nextExecutorNumber: Int = 1
        var paused: Bool = false
        var onlineVersion: Int = 0
    }

    let settings: Settings
    /// Written by the rule families in `ExecutorPool+*.swift`; nothing outside the pool writes it.
    var executors: [String: Executor]
    private(set) var meta: Meta
    var healthyHosts: Set<String>
    var random: SchedulerRandom
    /// Dissent times per executor inside the abnormal window; kept in memory only, so a restart
    /// forgives dissents older than the restart (the persisted count is informational).
    var dissentTimes: [String: [Int64]] = [:]
    /// Create or clean failures in a row per host (in memory); see `placeableHosts`.
    var failedCreates: [String: Int] = [:]
    /// Counters, URL dissents, variant trust and the lists (ExecutorPool+Feedback/Lists/Timers).
    var policy = PolicyState()
    /// The reason creation last stalled, until an executor can be created again.
    var creationStall: String?
    /// The weights last published per online executor, to publish again only on real change.
    private var publishedWeights: [String: Double]

    /// Weight changes smaller than this are not worth a new online-set version.
    static let weightEpsilon = 0.05

    init(settings: Settings, executors: [Executor] = [], meta: Meta = .init(), seed: UInt64? = nil,
         publishedWeights: [String: Double]? = nil, lists: ListBook = .init()) {
        self.settings = settings
        self.policy.lists = lists
        self.executors = Dictionary(executors.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.meta = meta
        self.healthyHosts = Set(settings.placement.hosts)
        self.random = SchedulerRandom(seed: seed)
        self.publishedWeights = publishedWeights
            ?? Dictionary(executors.filter { $0.state == .online }.map { ($0.id, $0.confidence) },
                          uniquingKeysWith: { a, _ in a })
    }

    func ids(in state: ExecutorState) -> [String] {
        executors.values.filter { $0.state == state }.map(\.id).sorted()
    }

    func count(_ state: ExecutorState) -> Int {
        executors.values.reduce(0) { $0 + ($1.state == state ? 1 : 0) }
    }

    /// Driver actions an earlier process may have left unfinished (it died mid-action); the
    /// worker re-issues them at start. Create and clean are safe to repeat.
    var unfinishedActions: [DriverAction] {
        executors.values.sorted { $0.id < $1.id }.compactMap { executor in
            switch executor.state {
            case .initializing: action(.create, executor)
            case .cleaning: action(.clean, executor)
            default: nil
            }
        }
    }

    // MARK: - Events

    mutating func handle(_ event: SchedulerEvent, now: Int64) -> Decision {
        var decision = Decision()
        switch event {
        case .message(let body, let id):
            handle(body, cause: .message(id), now: now, into: &decision)
            replenish(cause: .message(id), now: now, into: &decision)
        case .actionSucceeded(let action, let endpoint):
            actionSucceeded(action, endpoint: endpoint, now: now, into: &decision)
            replenish(cause: .driver, now: now, into: &decision)
        case .actionFailed(let action, let error):
            actionFailed(action, error: error, now: now, into: &decision)
            replenish(cause: .driver, now: now, into: &decision)
        case .replenish(let cause):
            replenish(cause: cause, now: now, into: &decision)
        case .host(let report):
            hostReport(report, now: now, into: &decision)
            replenish(cause: .host(report.host), now: now, into: &decision)
        case .onlineCheck(let report):
            onlineCheck(report, now: now, into: &decision)
            replenish(cause: .onlineCheck, now: now, into: &decision)
        case .rotationDue:
            timedRotation(now: now, into: &decision)
            replenish(cause: .timer, now: now, into: &decision)
        case .housekeeping:
            housekeeping(now: now, into: &decision)
            // Most ticks change nothing; refilling then would only repeat notes (no healthy host).
            if !decision.isEmpty { replenish(cause: .timer, now: now, into: &decision) }
        }
        return decision
    }

    mutating func handle(_ body: MessageBody, cause: Cause, now: Int64, into decision: inout Decision) {
        switch body {
        case .arbitration(let arbitration):
            arbitrate(arbitration, cause: cause, now: now, into: &decision)
        case .health(let report):
            guard let executor = executors[report.executor] else {
                decision.notes.append(.init(executor: report.executor,
                                            reason: "health report for unknown executor", cause: cause))
                return
            }
            switch report.status {
            case .down:
                abnormal(executor.id, reason: "reported down by the left bracket", cause: cause, now: now,
                         into: &decision)
            case .degraded:
                degraded(executor.id, cause: cause, now: now, into: &decision)
            case .up:
                break
            }
        case .alert(let alert):
            let targets = alertTargets(alert)
            if targets.isEmpty {
                decision.notes.append(.init(executor: alert.executor,
                                            reason: "alert names no known executor (\(alert.address ?? "-"))",
                                            cause: cause))
            }
            for id in targets {
                if alert.severity >= .high {
                    abnormal(id, reason: "\(alert.severity.rawValue) alert\(alert.rule.map { " rule \($0)" } ?? "")",
                             cause: cause, now: now, into: &decision)
                } else {
                    lowSeverityAlert(id, alert: alert, cause: cause, now: now, into: &decision)
                }
            }
        case .setState(let request):
            setState(request, cause: cause, now: now, into: &decision)
        case .rotate:
            rotate(reason: "rotation requested by operator", cause: cause, now: now, into: &decision)
        case .pause, .resume:
            let paused = body == .pause
            if meta.paused != paused {
                meta.paused = paused
                decision.metaChanged = true
            }
            decision.notes.append(.init(executor: nil,
                                        reason: paused ? "automatic scheduling paused" : "automatic scheduling resumed",
                                        cause: cause))
        case .list(let change):
            listRequest(change, cause: cause, now: now, into: &decision)
        }
    }

    // MARK: - Arbitration and anomalies

    mutating func arbitrate(_ arbitration: Arbitration, cause: Cause, now: Int64,
                                    into decision: inout Decision) {
        let dissenters = Set(arbitration.dissenters)
        // Half or more dissenting means there was no majority: the request, not the executors, is
        // suspect, and penalising them would let one crafted URL empty the online set.
        if !dissenters.isEmpty, dissenters.count * 2 >= arbitration.executors.count {
            suspect(url: arbitration.url, why: "no majority, \(dissenters.count) of \(arbitration.executors.count) "
                        + "executors dissented", cause: cause, now: now, into: &decision)
            return
        }
        // Negative feedback: a URL already suspected, or one that now makes several variants
        // dissent, says nothing about the executors.
        guard !feedbackAbsorbs(arbitration, dissenters: dissenters, cause: cause, now: now, into: &decision) else {
            return
        }
        for id in arbitration.executors {
            guard var executor = executors[id] else { continue }
            adjustVariantTrust(executor.variant, dissented: dissenters.contains(id))
            if dissenters.contains(id) {
                executor.confidence = max(0.05, executor.confidence * Self.dissentFactor)
                var times = dissentTimes[id, default: []].filter { now - $0 < settings.abnormalWindowMs }
                times.append(now)
                dissentTimes[id] = times
                executor.dissents = times.count
                executors[id] = executor
                decision.touched.insert(id)
                if executor.state == .online, times.count >= settings.abnormalDissents {
                    abnormal(id, reason: "\(times.count) dissents within \(settings.abnormalWindowMs) ms",
                             cause: cause, now: now, into: &decision)
                }
            } else if executor.confidence < 1 {
                executor.confidence = min(1, executor.confidence + (1 - executor.confidence) * 0.05 + 0.001)
                executors[id] = executor
                decision.touched.insert(id)
            }
        }
    }

    func alertTargets(_ alert: Alert) -> [String] {
        if let id = alert.executor { return executors[id] == nil ? [] : [id] }
        guard let address = alert.address else { return [] }
        return executors.values
            .filter { $0.address == address && ($0.state == .online || $0.state == .standby) }
            .map(\.id).sorted()
    }

    /// Replaces an abnormal executor at once, unless that would take online below `min_online`
    /// with no standby to step in: then it stays, flagged, and `replenish` replaces it later.
    mutating func abnormal(_ id: String, reason: String, cause: Cause, now: Int64,
                                   into decision: inout Decision) {
        guard var executor = executors[id] else { return }
        switch executor.state {
        case .online:
            break
        case .standby, .initializing:
            move(id, to: .cleaning, reason: "abnormal: \(reason)", cause: cause, now: now, into: &decision)
            return
        case .dirty, .cleaning, .offline:
            decision.notes.append(.init(executor: id, reason: "abnormal while \(executor.state.rawValue): \(reason)",
                                        cause: cause))
            return
        }
        if meta.paused || (count(.standby) == 0 && count(.online) - 1 < settings.replicas.minOnline) {
            executor.flagged = true
            executor.reason = "abnormal: \(reason)"
            executors[id] = executor
            decision.touched.insert(id)
            let why = meta.paused
                ? "scheduling is paused"
                : "replacing it would drop online below min_online=\(settings.replicas.minOnline)"
            decision.notes.append(.init(executor: id, reason: "abnormal (\(reason)) but kept online: \(why); "
                                            + "it is replaced as soon as a standby exists", cause: cause))
            return
        }
        quarantine(id, reason: "abnormal: \(reason)", cause: cause, now: now, into: &decision)
    }

    /// Online to dirty (kept for forensics, oldest released past `retain_dirty`) or to cleaning.
    mutating func quarantine(_ id: String, reason: String, cause: Cause, now: Int64,
                                     into decision: inout Decision) {
        guard settings.replicas.retainDirty > 0 else {
            move(id, to: .cleaning, reason: reason, cause: cause, now: now, into: &decision)
            return
        }
        move(id, to: .dirty, reason: reason, cause: cause, now: now, into: &decision)
        let dirty = executors.values.filter { $0.state == .dirty }.sorted { ($0.since, $0.id) < ($1.since, $1.id) }
        for released in dirty.prefix(max(0, dirty.count - settings.replicas.retainDirty)) {
            move(released.id, to: .cleaning,
                 reason: "released from dirty: more than retain_dirty=\(settings.replicas.retainDirty) kept",
                 cause: cause, now: now, into: &decision)
        }
    }

    // MARK: - Rotation and manual control

    /// Takes the longest-online executor out for cleaning, if a standby can take its place.
    mutating func rotate(reason: String, cause: Cause, now: Int64, into decision: inout Decision) {
        let online = executors.values.filter { $0.state == .online }
        guard let oldest = online.min(by: { ($0.since, $0.id) < ($1.since, $1.id) }) else {
            decision.notes.append(.init(executor: nil, reason: "rotation skipped: nothing online", cause: cause))
            return
        }
        guard count(.standby) > 0 else {
            decision.notes.append(.init(executor: oldest.id, reason: "rotation skipped: no standby ready",
                                        cause: cause))
            return
        }
        move(oldest.id, to: .cleaning, reason: reason, cause: cause, now: now, into: &decision)
    }

    mutating func setState(_ request: SetStateRequest, cause: Cause, now: Int64,
                                   into decision: inout Decision) {
        guard let executor = executors[request.executor] else {
            decision.notes.append(.init(executor: request.executor,
                                        reason: "set_state refused: unknown executor", cause: cause))
            return
        }
        let target = ExecutorState(rawValue: request.state.rawValue)!
        let reason = "operator: \(request.reason ?? "set_state \(target.rawValue)")"
        guard executor.state.canMove(to: target) else {
            let allowed = ExecutorState.allCases.filter { executor.state.canMove(to: $0) }.map(\.rawValue)
            decision.notes.append(.init(
                executor: executor.id,
                reason: "set_state refused: \(executor.state.rawValue) -> \(target.rawValue) is not allowed "
                    + "(from \(executor.state.rawValue): \(allowed.joined(separator: ", ")))",
                cause: cause))
            return
        }
        if target == .online, count(.online) >= settings.replicas.online {
            let online = executors.values.filter { $0.state == .online }
            if let oldest = online.min(by: { ($0.since, $0.id) < ($1.since, $1.id) }) {
                move(oldest.id, to: .cleaning, reason: "rotated out: operator put \(executor.id) online",
                     cause: cause, now: now, into: &decision)
            }
        }
        move(executor.id, to: target, reason: reason, cause: cause, now: now, into: &decision)
    }

    // MARK: - Driver results

    mutating func actionSucceeded(_ action: DriverAction, endpoint: String?, now: Int64,
                                          into decision: inout Decision) {
        guard var executor = executors[action.executor] else { return }
        switch action.kind {
        case .create:
            guard executor.state == .initializing else { return }
            failedCreates[executor.host] = nil
            if let endpoint { executor.endpoint = endpoint }
            executors[executor.id] = executor
            move(executor.id, to: .standby, reason: "created on \(executor.host)", cause: .driver, now: now,
                 into: &decision)
        case .clean:
            guard executor.state == .cleaning else { return }
            failedCreates[executor.host] = nil
            if let endpoint { executor.endpoint = endpoint }
            executors[executor.id] = executor
            move(executor.id, to: .initializing, reason: "restored from clean image", cause: .driver, now: now,
                 into: &decision)
            move(executor.id, to: .standby, reason: "ready after cleaning", cause: .driver, now: now,
                 into: &decision)
        case .remove:
            // An orphan removed from another host may carry the id of a live executor.
            guard executor.host == action.host else { return }
            forget(executor.id)
            decision.transitions.append(.init(executor: executor.id, from: executor.state, to: nil,
                                              reason: "removed from \(executor.host)", cause: .driver))
            decision.touched.insert(executor.id)
        }
    }

    mutating func actionFailed(_ action: DriverAction, error: String, now: Int64,
                                       into decision: inout Decision) {
        guard let executor = executors[action.executor] else { return }
        switch action.kind {
        case .create, .clean:
            let expected: ExecutorState = action.kind == .create ? .initializing : .cleaning
            guard executor.state == expected else { return }
            failedCreates[executor.host, default: 0] += 1
            move(executor.id, to: .offline, reason: "\(action.kind.rawValue) failed: \(error)", cause: .driver,
                 now: now, into: &decision)
        case .remove:
            decision.notes.append(.init(executor: executor.id, reason: "remove failed: \(error)", cause: .driver))
        }
    }

    // MARK: - Keeping the pools full

    /// Replaces flagged executors once standbys exist, promotes standbys up to `replicas.online`,
    /// and creates executors until online + standby + those on their way reach the targets.
    mutating func replenish(cause: Cause, now: Int64, into decision: inout Decision) {
        let flagged = executors.values.filter { $0.state == .online && $0.flagged }
            .sorted { ($0.since, $0.id) < ($1.since, $1.id) }
        if !meta.paused {
            for executor in flagged where count(.standby) > 0 {
                quarantine(executor.id, reason: executor.reason, cause: cause, now: now, into: &decision)
                promote(cause: cause, now: now, into: &decision)
            }
        }
        while count(.online) < settings.replicas.online {
            guard promote(cause: cause, now: now, into: &decision) else { break }
        }
        diversify(cause: cause, now: now, into: &decision)
        let onTheWay = count(.standby) + count(.initializing) + count(.cleaning)
        let missing = settings.replicas.online + settings.replicas.standby - count(.online) - onTheWay
        guard missing > 0 else { return }
        for _ in 0..<missing {
            let live = executors.values.filter { $0.state != .offline }
            guard let place = settings.placement.next(live: live, healthyHosts: placeableHosts(cause: cause)) else {
                let stall = healthyHosts.isEmpty
                    ? "cannot create executors: no healthy host"
                    : "creates keep failing on every healthy host; retrying at the next online check, host change "
                        + "or message"
                // Said once per stall: while a host is down every message replenishes, and a note
                // each time would flood the events stream and read as a second effect of the message.
                if creationStall != stall {
                    creationStall = stall
                    decision.notes.append(.init(executor: nil, reason: stall, cause: cause))
                }
                return
            }
            creationStall = nil
            let id = "e\(meta.nextExecutorNumber)"
            meta.nextExecutorNumber += 1
            decision.metaChanged = true
            let executor = Executor(id: id, variant: place.variant, host: place.host, state: .initializing,
                                    since: now, reason: "created to refill the pools")
            executors[id] = executor
            decision.transitions.append(.init(executor: id, from: nil, to: .initializing,
                                              reason: executor.reason, cause: cause))
            decision.touched.insert(id)
            decision.actions.append(action(.create, executor))
        }
    }

    @discardableResult
    mutating func promote(cause: Cause, now: Int64, into decision: inout Decision) -> Bool {
        let standby = executors.values.filter { $0.state == .standby }.sorted { $0.id < $1.id }
        let online = executors.values.filter { $0.state == .online }.sorted { $0.id < $1.id }
        guard let chosen = settings.selection.pick(from: standby, joining: online, variantTrust: policy.variantTrust,
                                                   random: &random) else {
            return false
        }
        move(chosen.id, to: .online, reason: "selected (\(settings.selection.strategy.rawValue))", cause: cause,
             now: now, into: &decision)
        return true
    }

    mutating func move(_ id: String, to next: ExecutorState, reason: String, cause: Cause, now: Int64,
                               into decision: inout Decision) {
        guard var executor = executors[id] else { return }
        precondition(executor.state.canMove(to: next), "illegal move \(executor.state) -> \(next) for \(id)")
        decision.transitions.append(.init(executor: id, from: executor.state, to: next, reason: reason, cause: cause))
        executor.state = next
        executor.since = now
        executor.reason = reason
        if next != .online { executor.flagged = false }
        if next == .initializing {
            // Restored from the clean image: its past behaviour no longer says anything.
            executor.confidence = 1
            executor.dissents = 0
            dissentTimes[id] = nil
            policy.forget(id)
        }
        executors[id] = executor
        decision.touched.insert(id)
        if next == .cleaning { decision.actions.append(action(.clean, executor)) }
    }

    /// Drops everything known about an executor (its transition is the caller's to record).
    mutating func forget(_ id: String) {
        executors[id] = nil
        dissentTimes[id] = nil
        policy.forget(id)
    }

    func action(_ kind: DriverAction.Kind, _ executor: Executor) -> DriverAction {
        DriverAction(kind: kind, executor: executor.id, variant: executor.variant, host: executor.host)
    }

    // MARK: - Publication

    /// The online set to publish when membership changed or a weight moved more than
    /// `weightEpsilon` since the last publication; bumps the version so it only grows.
    mutating func onlinePublication(app: String) -> OnlineView? {
        let online = executors.values.filter { $0.state == .online }.sorted { $0.id < $1.id }
        let changed = Set(online.map(\.id)) != Set(publishedWeights.keys)
            || online.contains { abs(($0.confidence) - (publishedWeights[$0.id] ?? -1)) > Self.weightEpsilon }
        guard changed else { return nil }
        publishedWeights = Dictionary(online.map { ($0.id, $0.confidence) }, uniquingKeysWith: { a, _ in a })
        meta.onlineVersion += 1
        return OnlineView(app: app, version: meta.onlineVersion, online: online.map {
            OnlineView.Member(id: $0.id, endpoint: $0.endpoint, variant: $0.variant,
                              weight: (($0.confidence * 1000).rounded()) / 1000)
        })
    }
}
