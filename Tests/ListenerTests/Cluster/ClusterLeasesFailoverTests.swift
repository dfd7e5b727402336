import Foundation
import Shared
import TestSupport
import Testing

@testable import Listener

/// Leases on a Sentinel-managed cluster Redis with `redis.wait` (issue 14 item 3): asynchronous
/// replication must not let a failover forget a lease or a token that was handed out, so two
/// owners never hold the same token, and an owner's lease is still its own on the new master.
@Suite(.serialized, .runsAlone) struct ClusterLeasesFailoverTests {
    @Test func aMasterKillForgetsNoLeaseAndNoTokenIsHandedOutTwice() async throws {
        // Two replicas: after the failover one is left for WAIT.
        let topology = try SentinelTopology(replicas: 2)
        let settings = RedisSettings(
            db: 15, connectTimeout: .milliseconds(500),
            sentinel: SentinelSettings(master: SentinelTopology.masterName, nodes: topology.settingsNodes),
            wait: ReplicaWait(replicas: 1, timeout: .milliseconds(500)))
        // Long leases: the failover takes seconds, and no lease may run out meanwhile.
        let a = ClusterLeases(
            redis: RedisClient(settings: settings, commandTimeout: .milliseconds(500)), lease: .seconds(60))
        let b = ClusterLeases(
            redis: RedisClient(settings: settings, commandTimeout: .milliseconds(500)), lease: .seconds(60))
        var tokens: [String: UInt64] = [:]
        for app in ["shop", "blog", "wiki"] {
            guard case .held(let token) = try await a.acquire(app: app, instance: "sched-a") else {
                Issue.record("\(app): a free lease was not taken")
                return
            }
            tokens[app] = token
        }
        // Handed over once before the kill: the token moved on.
        try await a.release(app: "wiki", instance: "sched-a", token: tokens["wiki"]!)
        guard case .held(let wikiToken) = try await b.acquire(app: "wiki", instance: "sched-b") else {
            Issue.record("wiki: a released lease was not free")
            return
        }
        #expect(wikiToken > tokens["wiki"]!)

        let old = try topology.currentMaster()
        old.kill()
        _ = try topology.waitForFailover(from: old)

        // On the new master: the owners' leases with their tokens, as acknowledged.
        var holders: [String: LeaseHolder] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let read = try? await b.holders(apps: ["shop", "blog", "wiki"]) {
                holders = read
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(holders["shop"] == LeaseHolder(instance: "sched-a", token: tokens["shop"]!))
        #expect(holders["blog"] == LeaseHolder(instance: "sched-a", token: tokens["blog"]!))
        #expect(holders["wiki"] == LeaseHolder(instance: "sched-b", token: wikiToken))
        // A's client learns of the failover on its first call (connection lost): it retries, as
        // the coordinator's next tick would.
        #expect(
            try await retrying { try await a.renew(app: "shop", instance: "sched-a", token: tokens["shop"]!) },
            "still a's")
        #expect(
            try await retrying { try await b.acquire(app: "shop", instance: "sched-b") } == .heldBy(holders["shop"]!))

        // The next change of owner gets a token no owner of the app had before the kill.
        try await retrying { try await a.release(app: "shop", instance: "sched-a", token: tokens["shop"]!) }
        guard case .held(let next) = try await retrying({ try await b.acquire(app: "shop", instance: "sched-b") })
        else {
            Issue.record("shop: a released lease was not free after the failover")
            return
        }
        // Tokens are per app: shop's next one is above every shop token handed out before.
        #expect(next == tokens["shop"]! + 1)
    }

    /// `body` until it does not throw, for up to 30 s (a failover, a reconnect).
    private func retrying<T>(_ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await body()
            } catch  where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
