import Foundation
import Shared
import TestSupport
import Testing

/// A real network partition in cluster mode (issue 14 item 5): three instances and the Redis each
/// on a host of their own (`NetworkLab`: network namespaces on a bridge), and one owner cut off by
/// taking its bridge port down. Nothing answers it any more, so its calls hang until their
/// timeouts, as on a real network. The isolated owner must stop committing once its lease is
/// gone, the others take its apps over, and when the link comes back it rejoins without any
/// message taking effect twice.
@Suite(.serialized, .runsAlone) struct ClusterPartitionTests {
    static let apps = ["shop", "blog", "wiki"]

    @Test func anIsolatedOwnerStopsCommittingTheOthersTakeOverAndHealingAppliesNothingTwice() throws {
        let lab = try NetworkLab()
        // 3 s: the isolated instance's calls time out after 2 s (connect and command), so its
        // plan has to drop the apps on its own clock, not on an answer from Redis.
        let cluster = try ClusterFixture(apps: Self.apps, instances: ["a", "b", "c"], lease: "3s", lab: lab)
        let everyone = ["a", "b", "c"]
        for name in everyone { try cluster.start(name) }
        var owners = cluster.waitBalanced(live: everyone, timeout: 40)
        #expect(owners != nil, "never balanced")
        guard let isolatedApp = owners?.first(where: { $0.value == "a" })?.key else {
            Issue.record("a owns nothing: \(owners ?? [:])")
            return
        }
        var sent = [try cluster.send(through: "a", count: 10, prefix: "before-a")]
        sent.append(try cluster.send(through: "b", count: 10, prefix: "before-b"))
        try ClusterEndToEndTests.expectExactlyOnce(cluster, sent)
        let fenceBefore = try cluster.fence(isolatedApp)
        guard let isolatedWorker = cluster.workerPIDs(of: "a")[isolatedApp] else {
            Issue.record("no worker of \(isolatedApp) on a")
            return
        }
        let appliedBefore = try cluster.anyInstance.appliedSeq(isolatedApp)

        // Cut a off. Messages for its app, accepted by b while nobody may apply them yet, wait in
        // the app's journal (the Redis stream every instance appends to).
        try lab.cut("a")
        let cut = ContinuousClock.now
        sent.append(try cluster.send(through: "b", count: 10, prefix: "cut"))
        var takenOver = false
        #expect(
            eventually(timeout: 30, interval: 0.1) {
                guard let seen = try? cluster.owners(seenBy: "b"), let owner = seen[isolatedApp], owner != "a",
                    (try? cluster.connectedApps(of: owner))?.contains(isolatedApp) == true
                else { return false }
                takenOver = true
                return true
            })
        let takeover = ContinuousClock.now - cut
        // Lease 3 s, ticks at most a second apart, the new worker's start; generous for a loaded machine.
        #expect(takenOver && takeover < .seconds(15), "\(isolatedApp) taken over after \(takeover)")
        #expect(try cluster.fence(isolatedApp) > fenceBefore, "a new owner, a new token")
        sent.append(try cluster.send(through: "c", count: 10, prefix: "cut-c"))
        try ClusterEndToEndTests.expectExactlyOnce(cluster, sent)

        // The isolated worker, if it still runs, gets the next frame straight on its socket (the
        // socket is a file: the cut does not reach it). Its commit carries the old token, so it
        // must acknowledge nothing and write nothing, even once Redis answers it again.
        var staleSocket: LineSocket?
        var stalePosition = 0
        if ChildProcess.isAlive(isolatedWorker),
            let socket = try? LineSocket(path: cluster["a"].runDir + "/\(isolatedApp).sock", timeout: 5),
            let hello = try? socket.request(["op": "hello"], timeout: 5)
        {
            stalePosition = ((hello["hello"] as? [String: Any])?["seq"] as? NSNumber)?.intValue ?? 0
            let epoch =
                try cluster.redis.cliRaw(
                    ["HGET", "mimic:\(isolatedApp):applied", "epoch"], db: cluster.anyInstance.db(isolatedApp)
                ).first ?? ""
            let frame: [String: Any] = [
                "epoch": epoch, "seq": stalePosition + 1,
                "msg": try JSONSerialization.jsonObject(
                    with: Data(Messages.health(isolatedApp, id: "isolated-owner").utf8)),
            ]
            try? socket.sendJSON(frame)
            staleSocket = socket
        }

        try lab.heal("a")
        var staleAnswer = "none (its instance had stopped it)"
        if let staleSocket {
            let answer = staleSocket.readJSON(timeout: 10)
            staleAnswer = answer.map { "\($0)" } ?? "no answer"
            #expect(
                answer?["ack"] as? Int != stalePosition + 1, "the isolated owner's worker acknowledged: \(staleAnswer)")
        }
        #expect(
            eventually(timeout: 20) { !ChildProcess.isAlive(isolatedWorker) },
            "the isolated owner's old worker is stopped or fenced after the heal")
        #expect(try cluster.effects(isolatedApp, ids: ["isolated-owner"]).isEmpty, "the isolated owner committed")
        #expect(try cluster.anyInstance.appliedSeq(isolatedApp) >= appliedBefore)

        // a rejoins and gets its share back; everything sent through anyone took effect once.
        owners = cluster.waitBalanced(live: everyone, timeout: 40)
        #expect(owners != nil, "not rebalanced after the heal: \((try? cluster.owners(seenBy: "b")) ?? [:])")
        for name in everyone { sent.append(try cluster.send(through: name, count: 10, prefix: "healed-\(name)")) }
        try ClusterEndToEndTests.expectExactlyOnce(cluster, sent)
        try Self.expectOneStatePerExecutor(cluster)
        try Self.expectOneOwnerPerApp(cluster, live: everyone)
        print(
            "cluster-partition takeover_ms=\(takeover.components.seconds * 1000 + takeover.components.attoseconds / 1_000_000_000_000_000) "
                + "stale_worker_frame=\(staleAnswer) fence=\(fenceBefore)->\(try cluster.fence(isolatedApp))")
    }

    /// Each executor is in exactly one `state:*` set and its hash agrees.
    static func expectOneStatePerExecutor(_ cluster: ClusterFixture) throws {
        let states = ["initializing", "standby", "online", "dirty", "cleaning", "offline"]
        for app in cluster.apps {
            let db = cluster.anyInstance.db(app)
            var seen: [String: String] = [:]
            for state in states {
                for id in try cluster.store.cliRaw(["SMEMBERS", "mimic:\(app):state:\(state)"], db: db)
                where !id.isEmpty {
                    #expect(seen[id] == nil, "\(app): \(id) in both \(seen[id] ?? "") and \(state)")
                    seen[id] = state
                    let recorded = try cluster.store.cliRaw(["HGET", "mimic:\(app):exec:\(id)", "state"], db: db).first
                    #expect(recorded == state, "\(app): \(id) in set \(state), hash says \(recorded ?? "nil")")
                }
            }
        }
    }

    /// Each app has exactly one owner among the live instances, in their metrics as in Redis.
    static func expectOneOwnerPerApp(_ cluster: ClusterFixture, live: [String]) throws {
        for app in cluster.apps {
            let owned = try live.map { name in
                try cluster[name].http("GET", "/metrics").body.split(separator: "\n").contains {
                    $0.hasPrefix("mimic_listener_app_owned{") && $0.contains("app=\"\(app)\"")
                        && Double($0.split(separator: " ").last ?? "") == 1
                } ? 1 : 0
            }
            #expect(owned.reduce(0, +) == 1, "\(app): owned by \(owned) of \(live)")
        }
    }
}
