import Foundation
import Shared
import TestSupport
import Testing

/// Cluster mode (DESIGN section 11, issue 14 item 3) with real listener and worker processes on a
/// real Redis: apps spread over the live instances, any instance accepts any app's messages, a
/// dead or paused owner's apps move within about a lease, a graceful stop or a join hands apps
/// over at once, and every accepted message takes effect exactly once throughout.
@Suite(.serialized, .startsProcesses) struct ClusterEndToEndTests {
    static let apps = ["shop", "blog", "wiki", "mail"]

    /// Every id took effect exactly once in its app.
    static func expectExactlyOnce(_ cluster: ClusterFixture, _ sent: [[String: [String]]]) throws {
        for app in cluster.apps {
            let ids = sent.flatMap { $0[app] ?? [] }
            let applied = try eventually(timeout: 20) { try cluster.effects(app, ids: ids).count == ids.count }
            let effects = try cluster.effects(app, ids: ids)
            #expect(applied, "\(app): \(ids.count - effects.count) of \(ids.count) messages not applied")
            #expect(effects.values.allSatisfy { $0 == 1 }, "\(app): applied twice: \(effects.filter { $0.value > 1 })")
        }
    }

    @Test func appsSpreadEvenlyAndAKilledMachinesAppsMoveToTheSurvivorWithinALease() throws {
        // 2 s: a listener starved for a moment on a loaded 2-core machine keeps its leases.
        let cluster = try ClusterFixture(apps: Self.apps, instances: ["a", "b"], lease: "2s")
        try cluster.start("a")
        try cluster.start("b")
        let owners = cluster.waitBalanced(live: ["a", "b"], timeout: 30)
        #expect(owners != nil, "never balanced")
        let spread = owners ?? [:]
        #expect(spread.values.filter { $0 == "a" }.count == 2, "owners: \(spread)")
        #expect(spread.values.filter { $0 == "b" }.count == 2, "owners: \(spread)")
        // Exactly one instance says it owns each app, in its metrics too.
        try ClusterPartitionTests.expectOneOwnerPerApp(cluster, live: ["a", "b"])
        // Worker control goes to the owner; another instance names it.
        if let (app, owner) = spread.first {
            let other = owner == "a" ? "b" : "a"
            let refused = try cluster[other].http("POST", "/v1/apps/\(app)/worker/restart")
            #expect(refused.status == 409)
            #expect(refused.body.contains("owned by instance '\(owner)'"), "\(refused.body)")
            #expect(
                try cluster[other].appsStatus()[app]?["worker"].flatMap { $0 as? [String: Any] }?["state"] as? String
                    == "remote")
        }
        // Any instance accepts any app's messages.
        var sent = [try cluster.send(through: "a", count: 10, prefix: "before-a")]
        sent.append(try cluster.send(through: "b", count: 10, prefix: "before-b"))
        try Self.expectExactlyOnce(cluster, sent)
        let moved = spread.filter { $0.value == "a" }.map(\.key)
        let fences = try Dictionary(uniqueKeysWithValues: moved.map { ($0, try cluster.fence($0)) })
        #expect(fences.values.allSatisfy { $0 > 0 }, "the owner's workers claim the fence: \(fences)")

        // The machine of instance a dies with its workers; b takes its apps once the leases expire.
        sent.append(try cluster.send(through: "a", count: 5, prefix: "last-a"))
        let killed = ContinuousClock.now
        cluster.killMachine("a")
        #expect(eventually(timeout: 20, interval: 0.05) { cluster.settled(live: ["b"]) != nil })
        let takeover = ContinuousClock.now - killed
        // Lease 2 s, a tick a third of it, and the new workers' start; generous for a loaded CI.
        #expect(takeover < .seconds(10), "b took a's apps after \(takeover)")
        for app in moved { #expect(try cluster.fence(app) > fences[app]!, "\(app): a new owner, a new token") }
        sent.append(try cluster.send(through: "b", count: 10, prefix: "after"))
        try Self.expectExactlyOnce(cluster, sent)
    }

    @Test func aJoinRebalancesAndAGracefulStopHandsOverWithoutWaitingForTheLease() throws {
        // A lease far longer than the test's bounds: only a handover can move apps this fast.
        let cluster = try ClusterFixture(apps: Self.apps, instances: ["a", "b"], lease: "30s")
        try cluster.start("a")
        #expect(eventually(timeout: 30) { cluster.settled(live: ["a"]) != nil })
        var sent = [try cluster.send(through: "a", count: 10, prefix: "alone")]

        try cluster.start("b")
        let owners = cluster.waitBalanced(live: ["a", "b"], timeout: 20)
        #expect(owners != nil, "never balanced")
        #expect(owners?.values.filter { $0 == "b" }.count == 2, "owners after the join: \(owners ?? [:])")
        sent.append(try cluster.send(through: "b", count: 10, prefix: "joined"))

        let stopping = ContinuousClock.now
        #expect(cluster["a"].terminate(), "SIGTERM is enough")
        #expect(eventually(timeout: 20, interval: 0.05) { cluster.settled(live: ["b"]) != nil })
        let handover = ContinuousClock.now - stopping
        #expect(handover < .seconds(15), "b took a's apps after \(handover), lease 30 s")
        sent.append(try cluster.send(through: "b", count: 10, prefix: "handed"))
        try Self.expectExactlyOnce(cluster, sent)
    }

    /// An owner paused past its lease (SIGSTOP of the listener; its worker keeps running) loses
    /// the app; its worker cannot commit any more, and once resumed the instance stops it.
    @Test func aPausedOwnerLosesItsAppsAndItsWorkerCannotCommitAfterwards() throws {
        let cluster = try ClusterFixture(apps: ["shop", "blog"], instances: ["a", "b"], lease: "1s")
        try cluster.start("a")
        try cluster.start("b")
        let owners = cluster.waitBalanced(live: ["a", "b"], timeout: 30)
        #expect(owners != nil, "never balanced")
        guard let app = owners?.first(where: { $0.value == "a" })?.key else {
            Issue.record("a owns nothing: \(owners ?? [:])")
            return
        }
        var sent = [try cluster.send(through: "b", count: 5, prefix: "before")]
        try Self.expectExactlyOnce(cluster, sent)
        guard let stale = cluster.workerPIDs(of: "a")[app] else {
            Issue.record("no worker of \(app) on a")
            return
        }
        let staleFence = try cluster.fence(app)

        ChildProcess.signal(cluster["a"].pid, SIGSTOP)
        defer { ChildProcess.signal(cluster["a"].pid, SIGCONT) }
        #expect(
            eventually(timeout: 20) {
                (try? cluster.owners(seenBy: "b"))?[app] == "b"
                    && (try? cluster.connectedApps(of: "b"))?.contains(app) == true
            })
        #expect(try cluster.fence(app) > staleFence)
        sent.append(try cluster.send(through: "b", count: 5, prefix: "moved"))
        try Self.expectExactlyOnce(cluster, sent)

        // The paused instance's worker still runs. A frame reaching it now, as its listener would
        // send the next record once resumed, must not take effect: its commit carries the old token.
        let epoch =
            try cluster.redis.cliRaw(["HGET", "mimic:\(app):applied", "epoch"], db: cluster.anyInstance.db(app))
            .first ?? ""
        if ChildProcess.isAlive(stale) {
            let socket = try LineSocket(path: cluster["a"].runDir + "/\(app).sock", timeout: 5)
            let hello = try socket.request(["op": "hello"], timeout: 5)
            let position = ((hello["hello"] as? [String: Any])?["seq"] as? NSNumber)?.intValue ?? 0
            let frame: [String: Any] = [
                "epoch": epoch, "seq": position + 1,
                "msg": try JSONSerialization.jsonObject(with: Data(Messages.health(app, id: "stale-owner").utf8)),
            ]
            try? socket.sendJSON(frame)
            let answer = socket.readJSON(timeout: 5)
            #expect(answer?["ack"] as? Int != position + 1, "a fenced worker acknowledged: \(answer ?? [:])")
        }
        #expect(try cluster.effects(app, ids: ["stale-owner"]).isEmpty, "the stale owner's worker committed")
        #expect(eventually(timeout: 10) { !ChildProcess.isAlive(stale) }, "the fenced worker exits")

        ChildProcess.signal(cluster["a"].pid, SIGCONT)
        #expect(eventually(timeout: 20) { cluster.balanced(live: ["a", "b"]) != nil })
        sent.append(try cluster.send(through: "a", count: 5, prefix: "resumed"))
        try Self.expectExactlyOnce(cluster, sent)
    }

    /// An alert that names an executor only by its `ip:port` (DESIGN section 4) may reach an
    /// instance that does not own the executor's app: it is routed by the online set the owner's
    /// worker published in Redis, and takes effect once, in that app only.
    @Test func anAlertByAddressReceivedByANonOwnerReachesTheOwnersApp() throws {
        let cluster = try ClusterFixture(apps: ["shop", "blog"], instances: ["a", "b"], lease: "5s")
        try cluster.start("a")
        try cluster.start("b")
        let owners = cluster.waitBalanced(live: ["a", "b"], timeout: 30)
        #expect(owners != nil, "never balanced")
        let owner = try #require(owners?["shop"])
        let other = owner == "a" ? "b" : "a"
        let db = cluster.anyInstance.db("shop")
        let online = { Set(try cluster.redis.cliRaw(["SMEMBERS", "mimic:shop:state:online"], db: db)) }
        let target = try #require(try online().sorted().first)
        let address = try #require(
            try cluster.redis.cliRaw(["HGET", "mimic:shop:exec:\(target)", "endpoint"], db: db).first)
        let alert =
            #"{"id":"waf-cluster-by-address","source":"waf","type":"alert","body":{"address":"\#(address)","severity":"critical","rule":"942100"}}"#
        // The non-owner reads the owner's published online set every second.
        let routed = try eventually(timeout: 15, interval: 0.2) {
            try cluster[other].http("POST", "/v1/events", body: alert, token: ListenerFixture.wafToken).status == 202
        }
        #expect(routed, "\(other), not shop's owner, did not route an alert naming \(address)")
        #expect(try eventually(timeout: 15) { try !online().contains(target) }, "\(target) still online")
        let shopEvents = try cluster.redis.streamEntries("mimic:shop:events", db: db)
        // Ejected: only the named executor; the standby promoted in its place moves too, to online.
        let ejected = shopEvents.filter {
            $0["cause"] == "waf-cluster-by-address" && ($0["to"] == "dirty" || $0["to"] == "cleaning")
        }
        #expect(Set(ejected.compactMap { $0["executor"] }) == [target], "ejected: \(ejected)")
        #expect(
            try cluster.redis.streamEntries("mimic:blog:events", db: cluster.anyInstance.db("blog")).allSatisfy {
                $0["cause"] != "waf-cluster-by-address"
            })
    }
}
