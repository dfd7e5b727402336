import Foundation
import Shared
import TestSupport
import Testing

@testable import Listener

/// The cluster's live set and app leases against a real `redis-server` (DESIGN section 11): each
/// `ClusterLeases` with its own client stands for one scheduler instance.
@Suite(.serialized, .startsProcesses) struct ClusterLeasesTests {
    @Test func aFreeLeaseGoesToTheFirstInstanceWithToken1() async throws {
        let cluster = try ClusterSite()
        let (a, b) = (cluster.instance(), cluster.instance())
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        #expect(
            try await b.acquire(app: "shop", instance: "sched-b")
                == .heldBy(LeaseHolder(instance: "sched-a", token: 1)))
        #expect(try await b.holders(apps: ["shop", "blog"]) == ["shop": LeaseHolder(instance: "sched-a", token: 1)])
        #expect(try cluster.cli("GET", "mimic:cluster:lease:shop") == ["1 sched-a"])
        #expect(try cluster.cli("GET", "mimic:cluster:fence:shop") == ["1"])
        #expect(try cluster.cli("TTL", "mimic:cluster:fence:shop") == ["-1"], "the fence counter never expires")
        let ttl = try #require(Int(try cluster.cli("PTTL", "mimic:cluster:lease:shop").first ?? ""))
        #expect((1...60000).contains(ttl), "Redis expires the lease itself, after one lease")
        #expect(try await a.holders(apps: []) == [:])
    }

    @Test func onlyTheOwnerWithItsTokenRenews() async throws {
        let cluster = try ClusterSite()
        // Long leases: on a loaded machine seconds may pass between two redis-cli calls.
        let (a, b) = (cluster.instance(lease: .seconds(60)), cluster.instance(lease: .seconds(60)))
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        _ = try cluster.cli("PEXPIRE", "mimic:cluster:lease:shop", "20000")
        #expect(try await a.renew(app: "shop", instance: "sched-a", token: 1))
        let ttl = try #require(Int(try cluster.cli("PTTL", "mimic:cluster:lease:shop").first ?? ""))
        #expect(ttl > 20000, "renewed for a whole lease again")
        #expect(try await !a.renew(app: "shop", instance: "sched-a", token: 2), "wrong token")
        #expect(try await !b.renew(app: "shop", instance: "sched-b", token: 1), "not the owner")
        #expect(try await !b.renew(app: "blog", instance: "sched-b", token: 1), "no lease at all")
        #expect(try cluster.cli("EXISTS", "mimic:cluster:lease:blog") == ["0"], "a failed renew writes nothing")
        #expect(try cluster.cli("GET", "mimic:cluster:lease:shop") == ["1 sched-a"])
    }

    @Test func anExpiredLeaseGoesToTheNextInstanceWithTheNextToken() async throws {
        let cluster = try ClusterSite()
        // a's lease is short; b's is long, so b still holds it when a looks again on a loaded machine.
        let (a, b) = (cluster.instance(lease: .milliseconds(300)), cluster.instance(lease: .seconds(60)))
        // Timed from before a's claim: on a loaded machine most of the lease can pass before b's
        // first try returns, so time from there says nothing about when the lease ran out.
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        #expect(try await b.acquire(app: "shop", instance: "sched-b") != .held(token: 1))
        var claim = try await b.acquire(app: "shop", instance: "sched-b")
        while claim != .held(token: 2), clock.now - started < .seconds(10) {
            try await Task.sleep(for: .milliseconds(20))
            claim = try await b.acquire(app: "shop", instance: "sched-b")
        }
        #expect(claim == .held(token: 2))
        #expect(clock.now - started >= .milliseconds(290), "not before the 300 ms lease ran out")
        #expect(try await !a.renew(app: "shop", instance: "sched-a", token: 1), "the old owner lost it")
        #expect(
            try await a.acquire(app: "shop", instance: "sched-a")
                == .heldBy(LeaseHolder(instance: "sched-b", token: 2)))
        #expect(try await a.holders(apps: ["shop"]) == ["shop": LeaseHolder(instance: "sched-b", token: 2)])
    }

    @Test func aReleasedLeaseIsFreeAtOnce() async throws {
        let cluster = try ClusterSite()
        let (a, b) = (cluster.instance(), cluster.instance())
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        // Not ours, or not with that token: nothing happens.
        try await b.release(app: "shop", instance: "sched-b", token: 1)
        try await a.release(app: "shop", instance: "sched-a", token: 7)
        #expect(try await a.holders(apps: ["shop"]) == ["shop": LeaseHolder(instance: "sched-a", token: 1)])

        try await a.release(app: "shop", instance: "sched-a", token: 1)
        #expect(try await a.holders(apps: ["shop"]) == [:])
        #expect(try await b.acquire(app: "shop", instance: "sched-b") == .held(token: 2))
        // A release that comes late (the lease changed hands) leaves the new owner alone.
        try await a.release(app: "shop", instance: "sched-a", token: 1)
        #expect(try await a.holders(apps: ["shop"]) == ["shop": LeaseHolder(instance: "sched-b", token: 2)])
    }

    @Test func tokensGoUpAtEveryChangeOfOwnerAndStayForAReacquire() async throws {
        let cluster = try ClusterSite()
        // Long leases: on a loaded machine seconds may pass between two redis-cli calls.
        let (a, b) = (cluster.instance(lease: .seconds(60)), cluster.instance(lease: .seconds(60)))
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        _ = try cluster.cli("PEXPIRE", "mimic:cluster:lease:shop", "20000")
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1), "same owner, same token")
        let ttl = try #require(Int(try cluster.cli("PTTL", "mimic:cluster:lease:shop").first ?? ""))
        #expect(ttl > 20000, "a re-acquire extends the lease")

        var last: UInt64 = 1
        var owner = (leases: a, name: "sched-a")
        for round in 0..<6 {
            try await owner.leases.release(app: "shop", instance: owner.name, token: last)
            owner = round.isMultiple(of: 2) ? (b, "sched-b") : (a, "sched-a")
            guard case .held(let token) = try await owner.leases.acquire(app: "shop", instance: owner.name) else {
                Issue.record("round \(round): a released lease was not free")
                return
            }
            #expect(token > last, "round \(round)")
            #expect(try await owner.leases.acquire(app: "shop", instance: owner.name) == .held(token: token))
            last = token
        }
        #expect(last == 7)
        #expect(try cluster.cli("GET", "mimic:cluster:fence:shop") == ["7"])
        // Each app has its own counter.
        #expect(try await b.acquire(app: "blog", instance: "sched-b") == .held(token: 1))
    }

    @Test func racingInstancesGetOneOwner() async throws {
        let cluster = try ClusterSite()
        let instances = (0..<6).map { (cluster.instance(), "sched-\($0)") }
        for app in ["shop", "blog", "wiki"] {
            let claims = try await withThrowingTaskGroup(of: (String, LeaseClaim).self) { group in
                for (leases, name) in instances {
                    group.addTask { (name, try await leases.acquire(app: app, instance: name)) }
                }
                var claims: [(String, LeaseClaim)] = []
                for try await claim in group { claims.append(claim) }
                return claims
            }
            let winners = claims.filter { $0.1 == .held(token: 1) }.map(\.0)
            #expect(winners.count == 1, "\(app): \(claims)")
            let holder = LeaseHolder(instance: winners.first ?? "", token: 1)
            #expect(claims.allSatisfy { $0.0 == holder.instance || $0.1 == .heldBy(holder) })
        }
    }

    @Test func aValueNeverBreaksTheTokenInstanceParse() async throws {
        let cluster = try ClusterSite()
        let (a, b) = (cluster.instance(), cluster.instance())
        // The token is first, the rest is the instance, spaces and all.
        #expect(try await a.acquire(app: "shop", instance: "sched a 2") == .held(token: 1))
        #expect(
            try await b.acquire(app: "shop", instance: "sched")
                == .heldBy(LeaseHolder(instance: "sched a 2", token: 1)))
        #expect(try await a.renew(app: "shop", instance: "sched a 2", token: 1))
        #expect(try await a.holders(apps: ["shop"]) == ["shop": LeaseHolder(instance: "sched a 2", token: 1)])
        // What no instance wrote belongs to no one: an acquire takes it with a new token.
        for junk in ["junk", " 5 sched-b", "x5 sched-b", ""] {
            _ = try cluster.cli("SET", "mimic:cluster:lease:blog", junk)
            #expect(try await a.holders(apps: ["blog"]) == [:], "\(junk)")
        }
        #expect(try await b.acquire(app: "blog", instance: "sched-b") == .held(token: 1))
        #expect(LeaseHolder(value: Array("18446744073709551616 a".utf8)) == nil, "past UInt64")
        #expect(LeaseHolder(value: Array("3 ".utf8)) == LeaseHolder(instance: "", token: 3))
    }

    @Test func aScriptRedisForgotIsSentAgain() async throws {
        let cluster = try ClusterSite()
        let a = cluster.instance()
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        _ = try cluster.cli("SCRIPT", "FLUSH")
        #expect(try await a.renew(app: "shop", instance: "sched-a", token: 1))
        #expect(try await a.heartbeat(instance: "sched-a") == ["sched-a"])
        _ = try cluster.cli("SCRIPT", "FLUSH")
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
    }

    @Test func theLiveSetFollowsHeartbeatsExpiryAndLeaves() async throws {
        let cluster = try ClusterSite()
        // Alive for one lease (3 s) after each heartbeat: long enough for a loaded machine's
        // redis-cli calls between two beats.
        let (a, b) = (cluster.instance(lease: .seconds(3)), cluster.instance(lease: .seconds(3)))
        #expect(try await b.heartbeat(instance: "sched-b") == ["sched-b"])
        #expect(try await a.heartbeat(instance: "sched-a") == ["sched-a", "sched-b"])
        let time = try cluster.cli("TIME")
        try #require(time.count == 2, "TIME answered \(time)")
        let now = (Int(time[0]) ?? 0) * 1000 + (Int(time[1]) ?? 0) / 1000
        let expiry = try #require(Int(try cluster.cli("ZSCORE", "mimic:cluster:instances", "sched-a").first ?? ""))
        #expect(
            (now...now + 3000).contains(expiry),
            "3 s after the beat, on the server's clock: \(expiry) at \(now)")

        // sched-a stops beating; sched-b goes on; once the lease ran out sched-a is gone.
        let clock = ContinuousClock()
        let started = clock.now
        var live = try await b.heartbeat(instance: "sched-b")
        while live.contains("sched-a"), clock.now - started < .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
            live = try await b.heartbeat(instance: "sched-b")
        }
        #expect(live == ["sched-b"])
        #expect(clock.now - started >= .seconds(1), "not before its lease ran out")
        #expect(try cluster.cli("ZSCORE", "mimic:cluster:instances", "sched-a") == [""], "dropped from the set")

        #expect(try await a.heartbeat(instance: "sched-a") == ["sched-a", "sched-b"], "back with its next beat")
        try await b.leave(instance: "sched-b")
        #expect(try cluster.cli("ZRANGE", "mimic:cluster:instances", "0", "-1") == ["sched-a"], "gone at once")
        #expect(try await a.heartbeat(instance: "sched-a") == ["sched-a"])
        try await b.leave(instance: "sched-b")
    }

    @Test func redisWaitWithoutAReplicaIsNotDurable() async throws {
        let cluster = try ClusterSite()
        cluster.settings.wait = ReplicaWait(replicas: 1, timeout: .milliseconds(100))
        let (a, b) = (cluster.instance(), cluster.instance())
        let acquired = await #expect(throws: RedisError.self) { try await a.acquire(app: "shop", instance: "sched-a") }
        guard case .notDurable(_, let replicas, let wanted, _)? = acquired else {
            Issue.record("expected notDurable, got \(String(describing: acquired))")
            return
        }
        #expect(replicas == 0 && wanted == 1)
        // The master has it, unconfirmed: the owner's renew and re-acquire fail the same way, and
        // another instance sees the holder (it writes nothing, so there is nothing to confirm).
        await #expect(throws: RedisError.self) { try await a.renew(app: "shop", instance: "sched-a", token: 1) }
        await #expect(throws: RedisError.self) { try await a.acquire(app: "shop", instance: "sched-a") }
        #expect(
            try await b.acquire(app: "shop", instance: "sched-b")
                == .heldBy(LeaseHolder(instance: "sched-a", token: 1)))
        #expect(try await !b.renew(app: "shop", instance: "sched-b", token: 1))
        // Heartbeats and releases do not wait.
        #expect(try await a.heartbeat(instance: "sched-a") == ["sched-a"])
        try await a.release(app: "shop", instance: "sched-a", token: 1)
        #expect(try await a.holders(apps: ["shop"]) == [:])
    }

    @Test func redisWaitWithAReplicaConfirms() async throws {
        let cluster = try ClusterSite(redisArguments: ["--repl-diskless-sync-delay", "0"])
        let replica = try RedisServer(extraArguments: [
            "--replicaof", "127.0.0.1", "\(cluster.redis.port)", "--repl-diskless-sync-delay", "0",
        ])
        defer { replica.kill() }
        #expect(
            await becomesTrue {
                (try? replica.cli("INFO", "replication"))?.contains("master_link_status:up") == true
            })
        cluster.settings.wait = ReplicaWait(replicas: 1, timeout: .seconds(2))
        let a = cluster.instance()
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        #expect(try replica.cliRaw(["GET", "mimic:cluster:fence:shop"], db: cluster.settings.db) == ["1"])
        #expect(try replica.cliRaw(["GET", "mimic:cluster:lease:shop"], db: cluster.settings.db) == ["1 sched-a"])
        #expect(try await a.renew(app: "shop", instance: "sched-a", token: 1))
    }

    @Test func aDeadRedisThrowsAndDoesNotHang() async throws {
        let cluster = try ClusterSite()
        let a = cluster.instance(commandTimeout: .milliseconds(500))
        #expect(try await a.acquire(app: "shop", instance: "sched-a") == .held(token: 1))
        let clock = ContinuousClock()

        // Stopped (SIGSTOP): the command timeout ends each call.
        cluster.redis.pause()
        var started = clock.now
        let stopped = await #expect(throws: RedisError.self) {
            try await a.renew(app: "shop", instance: "sched-a", token: 1)
        }
        #expect(clock.now - started < .seconds(10))
        if case .timeout? = stopped {} else { Issue.record("expected a timeout, got \(String(describing: stopped))") }
        cluster.redis.resume()

        // Killed: every call fails at once.
        cluster.redis.kill()
        started = clock.now
        await #expect(throws: RedisError.self) { try await a.acquire(app: "shop", instance: "sched-a") }
        await #expect(throws: RedisError.self) { try await a.renew(app: "shop", instance: "sched-a", token: 1) }
        await #expect(throws: RedisError.self) { try await a.release(app: "shop", instance: "sched-a", token: 1) }
        await #expect(throws: RedisError.self) { try await a.heartbeat(instance: "sched-a") }
        await #expect(throws: RedisError.self) { try await a.leave(instance: "sched-a") }
        await #expect(throws: RedisError.self) { try await a.holders(apps: ["shop"]) }
        #expect(clock.now - started < .seconds(10), "bounded by the connect and command timeouts")
    }
}

/// One real Redis for the cluster, in DB 5, and `ClusterLeases` over clients of their own; the
/// clients are closed when the site goes.
final class ClusterSite: @unchecked Sendable {
    let redis: RedisServer
    var settings: RedisSettings
    private var clients: [RedisClient] = []

    init(redisArguments: [String] = []) throws {
        redis = try RedisServer(extraArguments: redisArguments)
        settings = RedisSettings(host: "127.0.0.1", port: redis.port, db: 5, connectTimeout: .milliseconds(500))
    }

    /// One more instance: its own client with the site's settings as they are now.
    /// A minute by default: on a loaded machine (make test's main batch) seconds pass between two
    /// calls; the tests about expiry pass short leases themselves.
    func instance(lease: Duration = .seconds(60), commandTimeout: Duration = .seconds(2)) -> ClusterLeases {
        let client = RedisClient(settings: settings, commandTimeout: commandTimeout)
        clients.append(client)
        return ClusterLeases(redis: client, lease: lease)
    }

    /// `redis-cli --raw` in the cluster DB, one value per line.
    func cli(_ arguments: String...) throws -> [String] {
        try redis.cliRaw(arguments, db: settings.db)
    }

    deinit {
        let clients = self.clients
        Task { for client in clients { await client.close() } }
    }
}
