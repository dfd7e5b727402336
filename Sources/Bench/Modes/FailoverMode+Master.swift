import Foundation

/// `--fault master` (issue 14's figure "time from a master kill to the first acknowledged message
/// after failover, target down-after-milliseconds + 2 s; lost 0 and duplicated 0"): a real
/// Sentinel topology (`SentinelNodes`: master with appendonly, two replicas, three sentinels),
/// the cluster's instances with every `redis:` block (the apps' and `cluster.redis`) in the
/// sentinel form with `wait: { replicas: 1 }`, a paced TCP load through one instance, and
/// `kill -9` of the master at `--kill-at`.
///
/// Why the cluster and not one machine: with the file journal a sender's ok means "on the
/// listener's disk", which a Redis failover does not touch, so the acknowledgement would not
/// measure the failover at all (only the worker's applied seq would). In the cluster the journal
/// is the app's Redis stream and an append is answered only after `WAIT` saw a replica take it,
/// so the first ok after the kill is exactly the moment senders see a durable Redis again.
///
/// Measured from the kill: when the sentinels name the new master; the first ok for a message
/// whose (last) send was written after the kill; when each app's applied seq first moves on the
/// new master (the replicas are frozen between the kill and the promotion, so their seqs read
/// just after the kill are the new master's starting point); the 503 answers ("refused during
/// failover", each sent again after `--retry-millis` under the same id). After the load, each
/// app's journal stream on the new master is read id by id: lost = acknowledged ids without a
/// record there or beyond the applied seq, duplicated = records beyond the first of an id. What
/// this cannot show: a message the worker applied twice under one seq (the commit script refuses
/// a seq twice; `SentinelWorkerTests` count effects), and whether the failover loses messages the
/// scheduler never acknowledged (those are retried by the sender and not counted).
extension FailoverMode {
    func runMasterKill() throws {
        print(
            "failover --fault master: \(instances) instances, \(apps) apps, lease \(leaseText), "
                + "\(Int(rate)) msgs/s through one instance for \(seconds) s, kill -9 of the Redis master at \(killAt) s; "
                + "sentinel down-after-milliseconds \(downAfter), failover-timeout \(failoverTimeout), "
                + "wait { replicas: 1, timeout: \(waitTimeout) }, retry after \(Int(retryMillis)) ms, fsync \(common.fsync)"
        )
        var report = Report(mode: "failover")
        for run in 1...common.runs {
            try masterKillRun(run, into: &report)
            print("run \(run) done")
        }
        printReport(report)
    }

    private func masterKillRun(_ run: Int, into report: inout Report) throws {
        let nodes = try SentinelNodes(downAfterMillis: downAfter, failoverTimeoutMillis: failoverTimeout)
        defer { nodes.shutdown() }
        try nodes.start()
        let wait = "{ replicas: 1, timeout: \(waitTimeout) }"
        let sentinelPorts = nodes.sentinelPorts
        var options = try common.environmentOptions(apps: apps)
        options.redis = .init(masterPort: nodes.initialMasterPort) { db in
            SentinelNodes.redisBlock(sentinelPorts: sentinelPorts, db: db, wait: wait)
        }
        let environment = try BenchEnvironment(options)
        defer { environment.shutdown() }
        let cluster = try ClusterInstances(
            environment: environment, count: instances, lease: leaseText,
            clusterRedis: nodes.redisBlock(db: ClusterInstances.clusterDB, wait: wait))
        defer { cluster.shutdown() }
        for index in 0..<instances { try cluster.start(index) }
        _ = try cluster.waitSettled(live: Array(0..<instances))
        for app in environment.appNames {
            let deadline = monotonicNanos() + 60_000_000_000
            while (try? environment.onlineExecutors(app).count) != environment.options.online {
                guard monotonicNanos() < deadline else { throw BenchFailure("\(app): online set never filled") }
                sleepMillis(20)
            }
        }
        var executors: [String: [String]] = [:]
        for app in environment.appNames { executors[app] = try environment.onlineExecutors(app) }
        let fencesBefore = try fences(port: nodes.initialMasterPort, apps: environment.appNames)

        let workload = Workload(executors: executors, apps: environment.appNames)
        let load = RetryingTCPLoad(
            workload: workload, stream: "m\(run)", total: Int(rate * seconds), connections: connections)
        let door = cluster.instances[min(1, instances - 1)]
        try load.start(
            port: door.tcpPort, rate: rate, retryMillis: retryMillis,
            deadline: monotonicNanos() + UInt64((seconds + 90) * 1e9))
        sleepMillis(killAt * 1000)
        let sentinels = sentinelPorts.compactMap { try? RespConnection(port: $0) }
        let oldMaster = nodes.masterPort(asking: sentinels) ?? nodes.initialMasterPort
        // From the signal, not from reaping the process: the master stops answering at once.
        let killed = monotonicNanos()
        nodes.kill(port: oldMaster)
        // What reached the replicas before the kill lands within microseconds; nothing more
        // arrives until one of them is promoted.
        sleepMillis(50)
        let replicas = nodes.serverPorts.filter { $0 != oldMaster }
        var frozen: [Int: [String: Int]] = [:]
        for port in replicas {
            for app in environment.appNames {
                let connection = try RespConnection(port: port, db: environment.db(of: app))
                frozen[port, default: [:]][app] = try Self.appliedSeq(connection, app)
            }
        }
        // Only the promoted replica is watched: the other one resyncs from it, and if it lagged at
        // the kill, taking the new master's data would look like an advance that did not happen.
        // Its connections are opened once the sentinels name it, and opened again after an error:
        // the promotion ends with CLIENT KILL TYPE normal, which drops every connection made before.
        var promoted: (port: Int, at: UInt64)?
        var probes: [String: RespConnection] = [:]
        var resumed: [String: UInt64] = [:]
        let deadline = killed + 60_000_000_000
        while resumed.count < environment.appNames.count, monotonicNanos() < deadline {
            if promoted == nil, let port = nodes.masterPort(asking: sentinels), port != oldMaster {
                promoted = (port, monotonicNanos())
            }
            if let port = promoted?.port {
                for app in environment.appNames where resumed[app] == nil {
                    if probes[app] == nil {
                        probes[app] = try? RespConnection(port: port, db: environment.db(of: app))
                    }
                    guard let connection = probes[app], let seq = try? Self.appliedSeq(connection, app) else {
                        probes[app] = nil
                        continue
                    }
                    if seq > frozen[port]?[app] ?? 0 { resumed[app] = monotonicNanos() }
                }
            }
            sleepMillis(2)
        }
        load.join()
        guard load.failed == 0, load.oks == load.total else {
            throw BenchFailure(
                "run \(run): \(load.oks) of \(load.total) acknowledged, \(load.failed) failed; first error: "
                    + "\(load.firstError ?? "-"); sentinel log: \(nodes.logTail())")
        }
        guard let newMaster = nodes.masterPort(asking: sentinels), newMaster != oldMaster else {
            throw BenchFailure("run \(run): no failover; sentinel log: \(nodes.logTail())")
        }
        // A second failover (the sentinels found the promoted master silent for down-after-ms, as
        // a starved 2-core machine can make it) is counted, not an error: the check below reads the
        // final master, so what both failovers kept is what counts.
        let failovers = newMaster == promoted?.port ? 1 : 2
        if failovers > 1 {
            report.note(
                "run \(run): the master moved again after the failover (\(oldMaster), then \(promoted?.port ?? 0), then \(newMaster))"
            )
            for line in nodes.masterEvents() { report.note("  sentinel: \(line)") }
        }
        let (lost, duplicated, voids) = try checkJournals(
            environment, master: newMaster, acknowledged: load.acknowledged)
        let fencesAfter = try fences(port: newMaster, apps: environment.appNames)
        let refusals = load.refusals.filter { $0 >= killed }
        if refusals.count < load.refusals.count {
            report.note("run \(run): \(load.refusals.count - refusals.count) answers 503 before the kill")
        }
        if run == 1, let refusal = load.firstRefusal { report.note("first refusal: \(refusal)") }
        if voids > 0 { report.note("run \(run): \(voids) void markers in the journals") }

        func since(_ instant: UInt64?) -> Double { instant.map { Double($0 &- killed) / 1e6 } ?? .nan }
        let firstAck = since(load.firstAcknowledgement(sentAfter: killed))
        report.add("sentinel_failover_ms", since(promoted?.at), unit: "ms (sentinels name the new master)")
        report.add("failovers", Double(failovers), unit: "masters named after the kill (2: at least two)")
        report.add(
            "first_ack_after_kill_ms", firstAck,
            unit: "ms (first ok for a send after the kill; target down-after + 2 s)")
        report.add(
            "first_app_applied_after_kill_ms", since(resumed.values.min()),
            unit: "ms (an app's applied seq moves on the new master)")
        report.add(
            "all_apps_applied_after_kill_ms",
            since(resumed.count == environment.appNames.count ? resumed.values.max() : nil), unit: "ms (the last app)")
        report.add("refused_during_failover", Double(refusals.count), unit: "answers 503, each sent again")
        report.add("refused_until_ms", since(refusals.max()), unit: "ms (the last 503 after the kill)")
        report.add("master_accepted", Double(load.oks), unit: "msgs acknowledged")
        report.add("master_lost", Double(lost), unit: "acknowledged ids not applied on the new master (must be 0)")
        report.add("master_duplicated", Double(duplicated), unit: "ids journaled twice (must be 0)")
        report.add(
            "apps_reacquired",
            Double(environment.appNames.filter { fencesAfter[$0] != fencesBefore[$0] }.count),
            unit: "apps whose lease lapsed in the failover (fence moved)")
        report.add("down_after_ms", Double(downAfter), unit: "ms (sentinel down-after-milliseconds)")
        report.add(
            "first_ack_to_down_after_plus_2s", firstAck / Double(downAfter + 2000), unit: "ratio (target <= 1)")
    }

    /// Per app, the journal on the new master against what the senders were told: acknowledged
    /// ids with no record there, or with one the worker has not applied within a minute, are lost.
    private func checkJournals(
        _ environment: BenchEnvironment, master: Int, acknowledged: [(id: String, app: Int)]
    ) throws -> (lost: Int, duplicated: Int, voids: Int) {
        var lost = 0
        var duplicated = 0
        var voids = 0
        for (index, app) in environment.appNames.enumerated() {
            let connection = try RespConnection(port: master, db: environment.db(of: app))
            var check = try JournalStreamCheck(connection: connection, app: app)
            let deadline = monotonicNanos() + 60_000_000_000
            var applied = try Self.appliedSeq(connection, app)
            while applied < check.lastSeq, monotonicNanos() < deadline {
                sleepMillis(20)
                applied = try Self.appliedSeq(connection, app)
            }
            // Records appended after the first read are the load's retries' duplicates at most.
            check = try JournalStreamCheck(connection: connection, app: app)
            let ids = acknowledged.filter { $0.app == index }.map(\.id)
            lost += ids.filter { (check.firstSeq[$0] ?? .max) > applied }.count
            duplicated += check.duplicated
            voids += check.voids
        }
        return (lost, duplicated, voids)
    }

    private func fences(port: Int, apps: [String]) throws -> [String: String] {
        let connection = try RespConnection(port: port, db: ClusterInstances.clusterDB)
        var out: [String: String] = [:]
        for app in apps { out[app] = try connection.command(["GET", "mimic:cluster:fence:\(app)"]).string ?? "-" }
        return out
    }

    static func appliedSeq(_ connection: RespConnection, _ app: String) throws -> Int {
        Int(try connection.command(["HGET", "mimic:\(app):applied", "seq"]).string ?? "") ?? 0
    }
}
