import Logging
import Shared

/// Carries out this instance's `OwnershipPlan` (DESIGN section 11): every third of a lease (at
/// most every second) it beats its heartbeat, reads the lease holders, and takes, renews, hands
/// over or drops apps, starting and stopping their workers through `actions`. A stopped Redis makes every step fail;
/// the plan then drops each app once its lease may have run out, so an isolated owner stops its
/// workers by itself, and the fencing token refuses whatever they might still try to commit.
actor ClusterCoordinator {
    /// What owning an app means to the listener: its worker link and its worker process.
    struct Actions: Sendable {
        /// Starts the app's worker with the lease's token, and the link that forwards to it.
        var start: @Sendable (_ app: String, _ token: UInt64) async -> Void
        /// Stops the worker (gracefully: the batch in hand is committed and acknowledged) and the link.
        var stop: @Sendable (_ app: String) async -> Void
    }

    let instance: String
    let leases: ClusterLeases
    let interval: Duration
    private var plan: OwnershipPlan
    private let apps: @Sendable () -> [String]
    private let actions: Actions
    private let logger: Logger
    /// Apps whose worker is being stopped: no step touches them until that is done.
    private var stopping: Set<String> = []
    private var stopTasks: [String: Task<Void, Never>] = [:]
    /// The holders Redis named at the last tick that could read them (for status).
    private(set) var holders: [String: LeaseHolder] = [:]
    private var loop: Task<Void, Never>?
    private var leaving = false
    private var lastFailureLog: ContinuousClock.Instant?

    init(
        instance: String, leases: ClusterLeases, lease: Duration, apps: @escaping @Sendable () -> [String],
        actions: Actions, logger: Logger
    ) {
        self.instance = instance
        self.leases = leases
        // A third of a lease keeps a lease through two lost renewals; at most a second, so an app
        // handed over (released at once) or free for lack of an owner is taken within a second
        // whatever the lease.
        self.interval = min(lease / 3, .seconds(1))
        self.plan = OwnershipPlan(instance: instance, lease: lease)
        self.apps = apps
        self.actions = actions
        self.logger = logger
    }

    func start() {
        guard loop == nil else { return }
        loop = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                let began = ContinuousClock.now
                await self.tick()
                try? await Task.sleep(until: began + self.interval)
            }
        }
    }

    /// The owner of each app as this instance last saw it: itself for what it holds.
    func owners() -> [String: String] {
        var owners = holders.mapValues(\.instance)
        for app in plan.held.keys { owners[app] = instance }
        return owners
    }

    var ownedApps: Set<String> { Set(plan.held.keys) }

    /// One round: heartbeat, holders, then the plan's steps in order.
    func tick() async {
        guard !leaving else { return }
        let now = ContinuousClock.now
        let appNames = apps()
        var live: [String] = []
        var known = plan.held.mapValues { LeaseHolder(instance: instance, token: $0.token) }
        do {
            live = try await leases.heartbeat(instance: instance)
            known = try await leases.holders(apps: appNames)
            holders = known
        } catch {
            // Nothing is taken without Redis; what is held runs out on its own validity.
            live = []
            logFailure(
                "cluster Redis unreachable; apps held keep their workers until their lease may have expired", error)
        }
        let steps = plan.tick(apps: appNames, live: live, holders: known, now: now)
        for step in steps { await perform(step) }
    }

    private func perform(_ step: OwnershipPlan.Step) async {
        switch step {
        case .acquire(let app):
            guard !stopping.contains(app) else { return }
            let sentAt = ContinuousClock.now
            do {
                let claim = try await leases.acquire(app: app, instance: instance)
                if leaving, case .held(let token) = claim {
                    // `leave` ran while this was in flight: give it straight back.
                    try? await leases.release(app: app, instance: instance, token: token)
                    return
                }
                if plan.acquired(app, claim: claim, sentAt: sentAt), case .held(let token) = claim {
                    holders[app] = LeaseHolder(instance: instance, token: token)
                    logger.info("took app lease", metadata: ["lease_app": .string(app), "token": "\(token)"])
                    await actions.start(app, token)
                }
            } catch {
                logFailure("cannot take app lease", error, app: app)
            }
        case .renew(let app, let token):
            guard !stopping.contains(app) else { return }
            let sentAt = ContinuousClock.now
            do {
                let kept = try await leases.renew(app: app, instance: instance, token: token)
                plan.renewed(app, kept: kept, sentAt: sentAt)
                if !kept {
                    logger.error(
                        "app lease lost; stopping its worker",
                        metadata: ["lease_app": .string(app), "token": "\(token)"])
                    stopWorker(app, release: nil)
                }
            } catch {
                logFailure("cannot renew app lease", error, app: app)
            }
        case .handOver(let app, let token):
            guard !stopping.contains(app) else { return }
            logger.info("handing app over", metadata: ["lease_app": .string(app), "token": "\(token)"])
            stopWorker(app, release: token)
        case .drop(let app):
            guard !stopping.contains(app) else { return }
            logger.error(
                "app lease may have expired before it could be renewed; stopping its worker",
                metadata: ["lease_app": .string(app)])
            stopWorker(app, release: nil)
        }
    }

    /// Stops the worker off the tick (a graceful stop may take the supervisor's grace period, and
    /// the other apps' renewals must not wait for it), then gives the lease up when `release`.
    private func stopWorker(_ app: String, release token: UInt64?) {
        stopping.insert(app)
        let actions = actions
        let leases = leases
        let instance = instance
        stopTasks[app] = Task {
            await actions.stop(app)
            if let token {
                do {
                    try await leases.release(app: app, instance: instance, token: token)
                } catch {
                    // The lease then runs out by itself; the new owner waits for that.
                    self.logFailure("cannot release app lease", error, app: app)
                }
            }
            self.stopped(app)
        }
    }

    private func stopped(_ app: String) {
        plan.released(app)
        stopping.remove(app)
        stopTasks[app] = nil
    }

    /// Graceful stop: leaves the live set first, so no one names this instance any more, then
    /// stops every owned app's worker and releases its lease, so the others take the apps at
    /// their next tick instead of after the lease.
    func leave() async {
        leaving = true
        loop?.cancel()
        loop = nil
        do {
            try await leases.leave(instance: instance)
        } catch {
            logFailure(
                "cannot leave the cluster's live set; the others see this instance gone after its heartbeat expires",
                error)
        }
        for (app, token) in plan.releaseAll() where !stopping.contains(app) {
            stopWorker(app, release: token)
        }
        for task in stopTasks.values { await task.value }
    }

    private func logFailure(_ message: Logger.Message, _ error: any Error, app: String? = nil) {
        let now = ContinuousClock.now
        if let last = lastFailureLog, now - last < .seconds(5) { return }
        lastFailureLog = now
        var metadata: Logger.Metadata = ["error": "\(error)", "instance": .string(instance)]
        if let app { metadata["lease_app"] = .string(app) }
        logger.error(message, metadata: metadata)
    }
}
