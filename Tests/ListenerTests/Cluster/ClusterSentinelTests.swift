import Foundation
import Shared
import TestSupport
import Testing

/// Cluster mode on a replicated Redis (issue 14 item 5): two instances whose apps, journals and
/// leases live on a Sentinel-managed master with two replicas and `redis.wait`, and a `kill -9`
/// of that master under traffic. Senders retry what got no 202, as they must; every message
/// takes effect exactly once on the promoted master, no fencing token goes back, and each app
/// ends with exactly one owner.
@Suite(.serialized, .runsAlone) struct ClusterSentinelTests {
    static let apps = ["shop", "blog", "wiki", "mail"]

    @Test func aMasterKillUnderTrafficLosesNothingAndAppliesNothingTwice() throws {
        // Two replicas: after the failover one is left for WAIT.
        let topology = try SentinelTopology(replicas: 2)
        // 5 s: the failover (down-after 1 s, then the election) must not cost every lease.
        let cluster = try ClusterFixture(
            apps: Self.apps, instances: ["a", "b"], lease: "5s", sentinel: topology,
            wait: "{ replicas: 1, timeout: 500ms }")
        try cluster.start("a")
        try cluster.start("b")
        #expect(eventually(timeout: 40) { cluster.balanced(live: ["a", "b"]) != nil }, "never balanced")
        var sent = [try cluster.send(through: "a", count: 10, prefix: "before-a")]
        sent.append(try cluster.send(through: "b", count: 10, prefix: "before-b"))
        try ClusterEndToEndTests.expectExactlyOnce(cluster, sent)
        let fences = try Dictionary(uniqueKeysWithValues: Self.apps.map { ($0, try cluster.fence($0)) })

        let old = try topology.currentMaster()
        old.kill()
        let killed = ContinuousClock.now
        // Batches through both instances while the master is gone; each retried until answered
        // 202, with the same ids, as a sender does.
        var firstAccepted: Duration?
        var retried = 0
        for round in 0..<6 {
            for name in ["a", "b"] {
                var batch: [String: [String]] = [:]
                for app in Self.apps {
                    let ids = (0..<5).map { "failover-\(round)-\(name)-\(app)-\($0)" }
                    let body = "[" + ids.map { Messages.health(app, id: $0) }.joined(separator: ",") + "]"
                    let accepted = eventually(timeout: 60, interval: 0.1) {
                        let reply = try? cluster[name].http("POST", "/v1/events", body: body, timeoutSeconds: 5)
                        if reply?.status != 202 { retried += 1 }
                        return reply?.status == 202
                    }
                    #expect(accepted, "\(name) never accepted \(app)'s batch after the master kill")
                    if accepted, firstAccepted == nil { firstAccepted = ContinuousClock.now - killed }
                    batch[app] = ids
                }
                sent.append(batch)
            }
        }
        let promoted = try topology.waitForFailover(from: old)
        #expect(promoted.port != old.port)
        #expect(
            eventually(timeout: 40) { cluster.balanced(live: ["a", "b"]) != nil }, "not settled after the failover")
        try ClusterEndToEndTests.expectExactlyOnce(cluster, sent)
        for app in Self.apps {
            #expect(try cluster.fence(app) >= fences[app]!, "\(app): the token went back over the failover")
        }
        try ClusterPartitionTests.expectOneOwnerPerApp(cluster, live: ["a", "b"])
        print(
            "cluster-sentinel first_accepted_after_kill=\(firstAccepted.map { "\($0)" } ?? "never") retries=\(retried)")
    }
}
