/// Host rules (DESIGN section 7): a host going down or coming back, and the online check that
/// compares what the drivers list with what the pools record.
extension ExecutorPool {
    mutating func hostReport(_ report: HostReport, now: Int64, into decision: inout Decision) {
        let wasHealthy = healthyHosts.contains(report.host)
        let changed = wasHealthy != report.up
        decision.hostChanges.append(HostChange(report: report, changed: changed))
        guard changed, settings.placement.hosts.contains(report.host) else { return }
        if report.up {
            hostUp(report.host, now: now, into: &decision)
        } else {
            hostDown(report, now: now, into: &decision)
        }
    }

    /// Standby and initializing executors on the host are purged (an event each, then gone from
    /// the pools); online ones go offline, which is the offline list, and `replenish` replaces them
    /// from other hosts in the same decision. Cleaning ones go offline too: their clean cannot
    /// finish there, and counting them as on their way would delay the replacements. Dirty ones
    /// stay for forensics.
    mutating func hostDown(_ report: HostReport, now: Int64, into decision: inout Decision) {
        let host = report.host
        healthyHosts.remove(host)
        let cause = Cause.host(host)
        let reason = "host \(host) down after \(report.failures) failed probes (\(report.detail))"
        for executor in executors.values.filter({ $0.host == host }).sorted(by: { $0.id < $1.id }) {
            switch executor.state {
            case .standby, .initializing:
                purge(executor.id, reason: "purged: \(reason)", cause: cause, into: &decision)
            case .online, .cleaning:
                move(executor.id, to: .offline, reason: reason, cause: cause, now: now, into: &decision)
            case .dirty, .offline:
                break
            }
        }
    }

    /// Consecutive create or clean failures after which a host counts as failing.
    static let failingCreates = 3

    /// Where new executors may go: the healthy hosts with the fewest create failures in a row, so
    /// a host whose hooks or engine fail stops receiving executors while another works. When every
    /// healthy host is failing, a driver failure does not start the next create at once (that
    /// would spin create, fail, create for as long as the host is broken); the online check, a
    /// host change or a message does.
    func placeableHosts(cause: Cause) -> Set<String> {
        let fewest = healthyHosts.map { failedCreates[$0, default: 0] }.min() ?? 0
        if fewest >= Self.failingCreates, cause == .driver { return [] }
        return healthyHosts.filter { failedCreates[$0, default: 0] == fewest }
    }

    /// The host's offline executors are removed through its driver (each removal is recorded when
    /// the driver confirms it); standbys are then moved over so the host carries its share again.
    /// The host is listed at once: the standbys purged when it went down still run there, and only
    /// a listing finds them (waiting for the next online check left them up to `reconcile_every`).
    mutating func hostUp(_ host: String, now: Int64, into decision: inout Decision) {
        healthyHosts.insert(host)
        decision.listHosts.insert(host)
        // Back from a failure: its earlier create failures say nothing about it now.
        failedCreates[host] = nil
        let cause = Cause.host(host)
        for executor in executors.values.filter({ $0.host == host && $0.state == .offline }).sorted(by: {
            $0.id < $1.id
        }) {
            decision.notes.append(
                .init(
                    executor: executor.id,
                    reason: "host \(host) up: removing offline executor through the driver",
                    cause: cause))
            decision.actions.append(action(.remove, executor))
        }
        spreadStandbys(cause: cause, now: now, into: &decision)
    }

    /// While one healthy host carries two or more executors more than another, retires a standby
    /// of the fuller host and lets `replenish` create its successor on the emptier one. Online
    /// executors are not touched: they serve, and rotation moves them in time.
    mutating func spreadStandbys(cause: Cause, now: Int64, into decision: inout Decision) {
        guard !meta.paused else { return }
        let hosts = settings.placement.hosts.filter(healthyHosts.contains)
        guard hosts.count > 1 else { return }
        for _ in 0..<count(.standby) {
            var perHost = Dictionary(uniqueKeysWithValues: hosts.map { ($0, 0) })
            for executor in executors.values where executor.state != .offline && perHost[executor.host] != nil {
                perHost[executor.host]! += 1
            }
            let fullest = hosts.max { perHost[$0]! < perHost[$1]! }!
            let emptiest = hosts.min { perHost[$0]! < perHost[$1]! }!
            guard perHost[fullest]! - perHost[emptiest]! > 1,
                let retired = executors.values.filter({ $0.host == fullest && $0.state == .standby })
                    .min(by: { ($0.since, $0.id) < ($1.since, $1.id) })
            else { return }
            decision.actions.append(action(.remove, retired))
            purge(
                retired.id, reason: "retired from \(fullest) to spread executors over hosts again", cause: cause,
                into: &decision)
            replenish(cause: cause, now: now, into: &decision)
        }
    }

    /// Compares each healthy host's driver list with the pools: executors running unrecorded are
    /// removed, recorded online/standby ones that do not run are replaced. Every finding is an event.
    mutating func onlineCheck(_ report: OnlineCheckReport, now: Int64, into decision: inout Decision) {
        let cause = Cause.onlineCheck
        for (host, error) in report.failed.sorted(by: { $0.key < $1.key }) {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "online check: cannot list executors on host \(host): \(error)",
                    cause: cause))
        }
        for (host, ids) in report.listed.sorted(by: { $0.key < $1.key }) where healthyHosts.contains(host) {
            let listed = Set(ids)
            for id in listed.sorted() where executors[id]?.host != host {
                decision.notes.append(
                    .init(
                        executor: id,
                        reason: "online check: \(id) runs on host \(host) but is not recorded; removing it",
                        cause: cause))
                decision.actions.append(
                    DriverAction(
                        kind: .remove, executor: id, variant: executors[id]?.variant ?? "",
                        host: host))
            }
            let stopped = report.stopped[host] ?? []
            let missing = executors.values.filter {
                $0.host == host && ($0.state == .online || $0.state == .standby) && $0.since < report.startedAt
                    && (!listed.contains($0.id) || stopped.contains($0.id))
            }
            for executor in missing.sorted(by: { $0.id < $1.id }) {
                // Cleaning, not dirty: there is nothing left to examine, and cleaning recreates it.
                move(
                    executor.id, to: .cleaning,
                    reason:
                        "abnormal: recorded \(executor.state.rawValue) but not running on host \(host) (online check)",
                    cause: cause, now: now, into: &decision)
            }
        }
    }

    /// Drops an executor from the pools for good; the transition to "removed" is its event.
    mutating func purge(_ id: String, reason: String, cause: Cause, into decision: inout Decision) {
        guard let executor = executors[id] else { return }
        forget(id)
        decision.transitions.append(.init(executor: id, from: executor.state, to: nil, reason: reason, cause: cause))
        decision.touched.insert(id)
    }
}
