import Foundation
import Shared
import TestSupport
import Testing

/// Redis killed (append-only, so its data survives) or stopped with SIGSTOP while messages stream
/// through the real listener to the real worker: senders keep being answered from the journal,
/// the worker stops acknowledging and says so, and afterwards every message took effect once.
@Suite(.serialized, .startsProcesses) struct RedisOutageThroughListenerTests {
    func send(_ fixture: ListenerFixture, _ range: Range<Int>) throws {
        let batch = range.map { Messages.health("shop", id: "out-\($0)") }
        let reply = try fixture.http("POST", "/v1/events", body: "[" + batch.joined(separator: ",") + "]")
        #expect(reply.status == 202, "accepted into the journal whatever Redis does: \(reply.body)")
    }

    func workerStatus(_ fixture: ListenerFixture) throws -> [String: Any] {
        try LineSocket(path: fixture.runDir + "/shop.sock").request(["op": "status"])
    }

    @Test(arguments: ["kill", "pause"])
    func everyMessageTakesEffectOnceAcrossARedisOutage(outage: String) throws {
        let fixture = try ListenerFixture(apps: ["shop"], redisAppendOnly: true)
        try fixture.start(apps: ["shop"])
        defer {
            fixture.redis.resume()
            _ = fixture.terminate()
        }
        let batch = 50
        var sent = 0
        for _ in 0..<10 {
            try send(fixture, sent..<(sent + batch))
            sent += batch
        }
        if outage == "kill" { fixture.redis.kill() } else { fixture.redis.pause() }
        // The stream goes on during the outage.
        for _ in 0..<10 {
            try send(fixture, sent..<(sent + batch))
            sent += batch
            usleep(50_000)
        }
        #expect(try eventually(timeout: 10) { try workerStatus(fixture)["redis"] as? String == "down" })
        let ackedInOutage = try fixture.ackedSeq("shop")
        Thread.sleep(forTimeInterval: 1)
        #expect(try fixture.ackedSeq("shop") == ackedInOutage, "nothing acknowledged while Redis is down")
        #expect(ackedInOutage < sent)

        if outage == "kill" { try fixture.redis.start() } else { fixture.redis.resume() }
        for _ in 0..<10 {
            try send(fixture, sent..<(sent + batch))
            sent += batch
        }
        #expect(try eventually(timeout: 30, interval: 0.1) { try fixture.appliedSeq("shop") == sent })
        #expect(try eventually(timeout: 10) { try fixture.ackedSeq("shop") == sent })
        #expect(try workerStatus(fixture)["redis"] as? String == "up")

        var effects: [String: Int] = [:]
        for event in try fixture.events("shop") where event["cause"]?.hasPrefix("out-") == true {
            effects[event["cause"]!, default: 0] += 1
        }
        #expect(effects.count == sent, "every message took effect")
        #expect(effects.values.allSatisfy { $0 == 1 }, "none twice")
    }
}
