import Shared

/// Keeping the pools full (DESIGN section 7): `online` at `replicas.online` and `standby` at
/// `replicas.standby`, run after every event so each decision leaves the pools on their way to
/// the targets.
extension ExecutorPool {
    /// Replaces flagged executors once standbys exist, promotes standbys up to `replicas.online`,
    /// and creates executors until online + standby + those on their way reach the targets.
    mutating func replenish(cause: Cause, now: Int64, into decision: inout Decision) {
        guard mayReplenish(PoolCensus(executors.values)) else { return }
        replenishPools(cause: cause, now: now, into: &decision)
    }

    /// False when no step of `replenishPools` would change anything or draw a random number, so
    /// its filter-and-sort passes are skipped. Besides the steady state: without a standby nothing
    /// replaces a flagged executor, goes online or is swapped in for a duplicate build, and with
    /// the counts met nothing is created. Under a steady stream of alerts that is most events
    /// (executors on their way back), and the passes were a tenth of a worker's CPU (BENCHMARKS.md).
    func mayReplenish(_ census: PoolCensus) -> Bool {
        guard !isSteady(census) else { return false }
        return census.standby > 0 || census.missing(settings.replicas) > 0
    }

    mutating func replenishPools(cause: Cause, now: Int64, into decision: inout Decision) {
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
                let stall =
                    healthyHosts.isEmpty
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
            let executor = Executor(
                id: id, variant: place.variant, host: place.host, state: .initializing,
                since: now, reason: "created to refill the pools")
            executors[id] = executor
            decision.transitions.append(
                .init(
                    executor: id, from: nil, to: .initializing,
                    reason: executor.reason, cause: cause))
            decision.touched.insert(id)
            decision.actions.append(action(.create, executor))
        }
    }

    @discardableResult
    mutating func promote(cause: Cause, now: Int64, into decision: inout Decision) -> Bool {
        let standby = executors.values.filter { $0.state == .standby }.sorted { $0.id < $1.id }
        let online = executors.values.filter { $0.state == .online }.sorted { $0.id < $1.id }
        guard
            let chosen = settings.selection.pick(
                from: admissible(standby, now: now), joining: online, variantTrust: policy.variantTrust,
                random: &random)
        else {
            return false
        }
        move(
            chosen.id, to: .online, reason: "selected (\(settings.selection.strategy.rawValue))", cause: cause,
            now: now, into: &decision)
        return true
    }

    /// Pools full, nothing flagged online, no build twice online while another waits: every step
    /// of `replenish` (and `diversify`) would change nothing and draw no random number.
    func isSteady(_ census: PoolCensus) -> Bool {
        guard census.online >= settings.replicas.online, census.missing(settings.replicas) <= 0 else { return false }
        if census.flaggedOnline, !meta.paused, census.standby > 0 { return false }
        guard !meta.paused, settings.selection.strategy == .heterogeneity else { return true }
        return !variantWaitsWhileAnotherIsTwiceOnline
    }

    /// Asked on every message (`isSteady`): one pass collects the online variants, copying only
    /// their names. The nested `contains` passes it replaced copied every executor for every
    /// executor, 13 % of a worker in `mimic-bench failover`'s cluster load (BENCHMARKS.md).
    private var variantWaitsWhileAnotherIsTwiceOnline: Bool {
        var onlineVariants: [String] = []
        var duplicated = false
        for executor in executors.values where executor.state == .online {
            if onlineVariants.contains(executor.variant) {
                duplicated = true
            } else {
                onlineVariants.append(executor.variant)
            }
        }
        guard duplicated else { return false }
        return executors.values.contains { $0.state == .standby && !onlineVariants.contains($0.variant) }
    }
}
