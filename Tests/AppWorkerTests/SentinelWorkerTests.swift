import Foundation
import Shared
import TestSupport
import Testing

/// A worker whose Redis is a Sentinel-monitored master and replica (issue 14, item 1), as real
/// processes: `redis.wait` holds acknowledgements until a replica has the commit, and a `kill -9`
/// of the master mid-stream loses no acknowledged message and applies none twice. The test plays
/// the listener's part of the link, as DurableDecisionTests does.
@Suite(.serialized, .runsAlone)
struct SentinelWorkerTests {
    /// A health report for an unknown executor leaves exactly one note event: one effect per message.
    private func health(_ seq: Int) -> [String: Any] {
        deliveryFrame(
            epoch: "ep-s", seq: seq, source: "left_bracket", type: "health",
            body: ["executor": "ghost-\(seq)", "status": "up"])
    }

    private func worker(_ topology: SentinelTopology) throws -> WorkerFixture {
        try WorkerFixture(
            redis: topology.servers[0], online: 2, standby: 1, minOnline: 1,
            redisBlock: topology.redisBlock(db: 1, wait: "{ replicas: 1, timeout: 300ms }"))
    }

    @Test func aCommitIsAcknowledgedOnlyOnceAReplicaHasIt() throws {
        let topology = try SentinelTopology()
        let replica = topology.servers[1]
        let worker = try worker(topology)
        try worker.start()
        let socket = try worker.connect()
        #expect(try socket.request(["op": "hello"])["hello"] as? [String: Any] != nil)
        for seq in 1...5 { try socket.sendJSON(health(seq)) }
        #expect(acknowledged(socket, until: 5) == 5)

        replica.pause()
        try socket.sendJSON(health(6))
        var early: [String: Any]?
        while let reply = socket.readJSON(timeout: 2) {
            if reply["ack"] != nil { early = reply }
        }
        #expect((early?["ack"] as? Int ?? 0) < 6, "no replica has seq 6 yet: \(early ?? [:])")
        let status = try worker.status()
        #expect(status["redis"] as? String == "down")
        #expect((status["redis_error"] as? String)?.contains("replicas redis.wait asks for") == true, "\(status)")

        replica.resume()
        #expect(acknowledged(socket, until: 6) == 6)
        let onReplica = try replica.cliRaw(["HGET", "mimic:shop:applied", "seq"], db: 1)
        #expect(onReplica == ["6"], "what was acknowledged is on the replica")
    }

    /// Two replicas: with `redis.wait: { replicas: 1 }` the promoted one must still have one.
    @Test func aMasterKilledMidStreamLosesNoAcknowledgedMessageAndRepeatsNone() throws {
        let topology = try SentinelTopology(replicas: 2)
        let old = try topology.currentMaster()
        let worker = try worker(topology)
        try worker.start()
        var socket = try worker.connect()
        #expect(try socket.request(["op": "hello"])["hello"] as? [String: Any] != nil)
        for seq in 1...20 { try socket.sendJSON(health(seq)) }
        #expect(acknowledged(socket, until: 20) == 20)

        for seq in 21...60 { try socket.sendJSON(health(seq)) }
        old.kill()
        // The listener's part: resend from what the worker says it holds whenever the link closes.
        var last = acknowledged(socket, until: 60, timeout: 40)
        var relinks = 0
        while last < 60, relinks < 5 {
            relinks += 1
            socket = try worker.connect()
            let hello = try #require(try socket.request(["op": "hello"], timeout: 30)["hello"] as? [String: Any])
            let from = (hello["seq"] as? Int ?? 0) + 1
            #expect(from > 20, "acknowledged seqs survive the failover")
            for seq in from...60 { try socket.sendJSON(health(seq)) }
            last = acknowledged(socket, until: 60, timeout: 40)
        }
        #expect(last == 60)

        let promoted = try topology.currentMaster()
        #expect(promoted.port != old.port)
        #expect(try promoted.cliRaw(["HGET", "mimic:shop:applied", "seq"], db: 1) == ["60"])
        var effects: [String: Int] = [:]
        for event in try promoted.streamEntries("mimic:shop:events", db: 1)
        where event["kind"] == "note" && event["cause"]?.hasPrefix("msg-") == true {
            effects[event["cause"]!, default: 0] += 1
        }
        #expect(effects.count == 60 && effects.values.allSatisfy { $0 == 1 }, "\(effects.filter { $0.value != 1 })")
    }

    private func acknowledged(_ socket: LineSocket, until seq: Int, timeout: TimeInterval = 20) -> Int {
        var last = 0
        while last < seq, let reply = socket.readJSON(timeout: timeout) { last = reply["ack"] as? Int ?? last }
        return last
    }
}
