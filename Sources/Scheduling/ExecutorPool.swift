import Shared

/// The executors of one app and the rules that move them (DESIGN section 7), as a pure state
/// machine: `handle` takes an event and the current time and returns the decision to commit.
/// No I/O happens here, so every rule is tested without Redis or hosts. Rule families live in
/// extensions in files of their own (`ExecutorPool+*.swift`) and share these helpers. The pool's
/// state is `package internal(set)`: the worker reads it, and only this module's rules write it.
package struct ExecutorPool: Sendable {
    package struct Settings: Sendable, Equatable {
        var replicas: Replicas
        var abnormalDissents: Int
        var abnormalWindowMs: Int64
        var selection: StandbySelection
        package var placement: Placement
        var policy: PolicySettings

        package init(config: AppConfig) {
            replicas = config.replicas
            abnormalDissents = config.scheduling.abnormalDissents
            abnormalWindowMs = config.scheduling.abnormalWindow.milliseconds
            selection = StandbySelection(
                strategy: config.scheduling.strategy,
                traits: Dictionary(config.variants.map { ($0.name, $0.traits) }, uniquingKeysWith: { a, _ in a }))
            placement = Placement(
                variants: config.variants.map(\.name),
                hosts: config.hosts.map(\.name))
            policy = PolicySettings(config: config)
        }
    }

    /// What survives a restart besides the executors: stored in `mimic:{app}:meta`.
    package struct Meta: Sendable, Equatable {
        package var nextExecutorNumber: Int = 1
        package var paused: Bool = false
        package var onlineVersion: Int = 0

        package init(nextExecutorNumber: Int = 1, paused: Bool = false, onlineVersion: Int = 0) {
            self.nextExecutorNumber = nextExecutorNumber
            self.paused = paused
            self.onlineVersion = onlineVersion
        }
    }

    package let settings: Settings
    package internal(set) var executors: [String: Executor]
    package internal(set) var meta: Meta
    package internal(set) var healthyHosts: Set<String>
    var random: SchedulerRandom
    /// Create or clean failures in a row per host (part of `policyMemory`); see `placeableHosts`.
    var failedCreates: [String: Int] = [:]
    /// What the arbitration, anomaly, list and rotation rules remember between events; committed
    /// with the effects (`policyMemory`).
    var policy = PolicyState()
    /// The reason creation last stalled, until an executor can be created again.
    var creationStall: String?
    /// The weights last published per online executor, to publish again only on real change.
    var publishedWeights: [String: Double]
    /// Keys the per-executor rotation draw (`onlineLifetimeMs`): derived from the seed when one
    /// is set, else secret and new at each start (a restart redraws the remaining times).
    let rotationKey: UInt64

    /// `downHosts`: hosts the store last recorded down; they stay out of placement until a probe
    /// reports them up. `memory`: the policy memory last committed (nil for a new app).
    package init(
        settings: Settings, executors: [Executor] = [], meta: Meta = .init(), seed: UInt64? = nil,
        publishedWeights: [String: Double]? = nil, lists: ListBook = .init(), downHosts: Set<String> = [],
        memory: PolicyMemory? = nil
    ) {
        self.settings = settings
        if let memory {
            self.policy = memory.policy
            self.failedCreates = memory.failedCreates
            self.creationStall = memory.creationStall
        }
        self.policy.lists = lists
        self.executors = Dictionary(executors.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.meta = meta
        self.healthyHosts = Set(settings.placement.hosts).subtracting(downHosts)
        // A seeded stream resumes where the committed memory left it; the system generator has
        // nothing to resume.
        self.random = SchedulerRandom(seed: seed.map { memory?.random ?? $0 })
        // Not drawn from `random`: turning per-executor rotation on must not shift seeded choices.
        self.rotationKey = seed.map { $0 ^ 0x6578_6563_726F_7461 } ?? UInt64.random(in: .min ... .max)
        self.publishedWeights =
            publishedWeights
            ?? Dictionary(
                executors.filter { $0.state == .online }.map { ($0.id, $0.confidence) },
                uniquingKeysWith: { a, _ in a })
    }

    package func ids(in state: ExecutorState) -> [String] {
        executors.values.filter { $0.state == state }.map(\.id).sorted()
    }

    package func count(_ state: ExecutorState) -> Int {
        executors.values.reduce(0) { $0 + ($1.state == state ? 1 : 0) }
    }

    /// Driver actions an earlier process may have left unfinished (it died mid-action); the
    /// worker re-issues them at start. Create and clean are safe to repeat.
    package var unfinishedActions: [DriverAction] {
        executors.values.sorted { $0.id < $1.id }.compactMap { executor in
            switch executor.state {
            case .initializing: action(.create, executor)
            case .cleaning: action(.clean, executor)
            default: nil
            }
        }
    }

    // MARK: - Events

    package mutating func handle(_ event: SchedulerEvent, now: Int64) -> Decision {
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
            health(report, cause: cause, now: now, into: &decision)
        case .alert(let alert):
            self.alert(alert, cause: cause, now: now, into: &decision)
        case .setState(let request):
            setState(request, cause: cause, now: now, into: &decision)
        case .rotate:
            rotate(reason: "rotation requested by operator", cause: cause, now: now, into: &decision)
        case .pause, .resume:
            setPaused(body == .pause, cause: cause, into: &decision)
        case .list(let change):
            listRequest(change, cause: cause, now: now, into: &decision)
        }
    }

    // MARK: - Helpers the rule families share

    mutating func move(
        _ id: String, to next: ExecutorState, reason: String, cause: Cause, now: Int64,
        into decision: inout Decision
    ) {
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
            policy.forget(id)
        }
        executors[id] = executor
        decision.touched.insert(id)
        if next == .cleaning { decision.actions.append(action(.clean, executor)) }
    }

    /// Drops everything known about an executor (its transition is the caller's to record).
    mutating func forget(_ id: String) {
        executors[id] = nil
        policy.forget(id)
    }

    /// The memory to commit with this batch's effects (DESIGN section 10). Times of executors that
    /// are gone are left out: ids are never reused, so nothing can consult them again.
    package var policyMemory: PolicyMemory {
        var kept = policy
        kept.lists = ListBook()
        kept.dissentTimes = kept.dissentTimes.filter { executors[$0.key] != nil && !$0.value.isEmpty }
        kept.degradedTimes = kept.degradedTimes.filter { executors[$0.key] != nil && !$0.value.isEmpty }
        kept.lowAlertTimes = kept.lowAlertTimes.filter { executors[$0.key] != nil && !$0.value.isEmpty }
        return PolicyMemory(
            policy: kept, random: random.state, failedCreates: failedCreates, creationStall: creationStall)
    }

    func action(_ kind: DriverAction.Kind, _ executor: Executor) -> DriverAction {
        DriverAction(kind: kind, executor: executor.id, variant: executor.variant, host: executor.host)
    }
}
