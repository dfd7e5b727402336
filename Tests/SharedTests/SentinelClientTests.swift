import Foundation
import TestSupport
import Testing

@testable import Shared

/// The Sentinel-aware client (issue 14, item 1) against real engines: a `redis-server` master and
/// replica and three `redis-sentinel` processes on loopback, failing over in about two seconds.
@Suite("Redis through Sentinel", .serialized, .runsAlone)
struct SentinelClientTests {
    private func settings(_ topology: SentinelTopology, first: [SentinelSettings.Node] = []) -> RedisSettings {
        RedisSettings(
            db: 3, connectTimeout: .milliseconds(500),
            sentinel: SentinelSettings(master: SentinelTopology.masterName, nodes: first + topology.settingsNodes))
    }

    /// The port of the server a client is connected to, as that server tells it.
    private func port(of client: RedisClient) async throws -> Int? {
        try await client.command(["CONFIG", "GET", "port"]).strings?.last.flatMap { Int($0) }
    }

    @Test func theMasterIsFoundThroughTheSentinelsPastOneThatIsDown() async throws {
        let topology = try SentinelTopology()
        let dead = SentinelSettings.Node(host: "127.0.0.1", port: try FreePort.take())
        let directory = SentinelDirectory(
            try #require(settings(topology, first: [dead]).sentinel), connectTimeout: .milliseconds(500))
        let master = try topology.currentMaster()
        #expect(try directory.masterAddress() == SentinelSettings.Node(host: "127.0.0.1", port: master.port))
        #expect(directory.nodes.first == topology.settingsNodes.first, "the sentinel that answered is asked first")

        let client = RedisClient(settings: settings(topology, first: [dead]))
        defer { Task { await client.close() } }
        try await client.command(["SET", "greeting", "hello"])
        #expect(try await port(of: client) == master.port)
        #expect(try master.cli("GET", "greeting", db: 3) == "\"hello\"", "SELECT ran on the master's connection")
    }

    @Test func noSentinelThatKnowsTheMasterIsAClearError() async throws {
        let topology = try SentinelTopology(sentinelCount: 1)
        var wrong = try #require(settings(topology).sentinel)
        wrong.master = "nosuch"
        let directory = SentinelDirectory(wrong, connectTimeout: .milliseconds(500))
        #expect {
            try directory.masterAddress()
        } throws: { error in
            guard case .noMaster(let master, let detail) = error as? RedisError else { return false }
            return master == "nosuch" && detail.contains("knows no master named nosuch")
        }
    }

    /// A master that a failover demoted keeps its clients; only `-READONLY` tells them.
    @Test func aReadOnlyAnswerDropsTheConnection() throws {
        let topology = try SentinelTopology(sentinelCount: 1)
        let replica = topology.servers[1]
        let connection = try RedisConnection(settings: RedisSettings(port: replica.port, db: 3))
        #expect(throws: RedisError.self) { try connection.command(["SET", "k", "v"]) }
        #expect(connection.isBroken, "a connection to a replica is useless for writing")
    }

    @Test func writesGoOnAtTheNewMasterAfterTheMasterIsKilled() async throws {
        let topology = try SentinelTopology()
        let old = try topology.currentMaster()
        let client = RedisClient(settings: settings(topology), commandTimeout: .milliseconds(500))
        defer { Task { await client.close() } }
        #expect(try await client.command(["INCR", "counter"]).int == 1)
        old.kill()
        let killed = ContinuousClock.now
        var value: Int?
        while value == nil, ContinuousClock.now - killed < .seconds(30) {
            do {
                value = try await client.command(["INCR", "counter"]).int
            } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let promoted = try topology.currentMaster()
        #expect(promoted.port != old.port)
        #expect(value == 2, "the first write was replicated before the kill")
        #expect(try await port(of: client) == promoted.port)
    }

    /// A partitioned old master keeps answering its clients with no error; only the sentinels'
    /// `+switch-master` tells them. (In a graceful failover Sentinel also kills the demoted
    /// master's clients, so the test below passes without the watch; this one does not.)
    @Test func theWatchCountsTheSentinelsSwitchAnnouncement() throws {
        let topology = try SentinelTopology()
        let old = try topology.currentMaster()
        let directory = SentinelDirectory(try #require(settings(topology).sentinel), connectTimeout: .milliseconds(500))
        let watch = SentinelWatch(directory: directory)
        defer { watch.stop() }
        // Subscribed once a sentinel counts it among its pub/sub clients; give it a moment.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(watch.generation == 0)
        _ = try topology.sentinels[0].cliRaw(["SENTINEL", "FAILOVER", SentinelTopology.masterName])
        try topology.waitForFailover(from: old)
        #expect(eventually(timeout: 10) { watch.generation >= 1 })
    }

    /// A read-only client follows a graceful failover to the new master.
    @Test func aClientThatOnlyReadsFollowsAFailover() async throws {
        let topology = try SentinelTopology()
        let old = try topology.currentMaster()
        let client = RedisClient(settings: settings(topology))
        defer { Task { await client.close() } }
        #expect(try await port(of: client) == old.port)
        _ = try topology.sentinels[0].cliRaw(["SENTINEL", "FAILOVER", SentinelTopology.masterName])
        let promoted = try topology.waitForFailover(from: old)
        let deadline = ContinuousClock.now + .seconds(10)
        var now = try? await port(of: client)
        while now != promoted.port, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            now = try? await port(of: client)
        }
        #expect(now == promoted.port)
    }
}
