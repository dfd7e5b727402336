import Foundation
import Shared
import TestSupport
import Testing

/// Issue 12, finding 1: one message with an unbounded duration (`ttl` of Int64.max ms) was answered
/// 202, then trapped the worker on `now + ttl` at every restart: crash loop, acked seq frozen, the
/// app's defense stopped. Now it is refused at the door naming the field and the bound, and a
/// worker that still receives one (a journal written by the previous release) records it as a
/// rejected message and goes on.
@Suite(.serialized, .startsProcesses) struct PoisonMessageTests {
    static let poisonTTL = "9223372036854775807ms"

    static func listAdd(id: String, ttl: String) -> String {
        "{\"id\":\"\(id)\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"list\",\"body\":{\"list\":\"blacklist\",\"op\":\"add\",\"url\":\"/x\",\"ttl\":\"\(ttl)\"}}"
    }

    @Test func bothDoorsRefuseAnUnboundedTTLAndTheAppGoesOn() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let worker = try #require(try fixture.workerPID("shop"))

        let reply = try fixture.http(
            "POST", "/v1/events", body: Self.listAdd(id: "poison-1", ttl: Self.poisonTTL),
            token: ListenerFixture.wafToken)
        #expect(reply.status == 400, "\(reply.body)")
        let error = reply.json["error"] as? String ?? ""
        #expect(error.contains("body.ttl") && error.contains("at most 365d"), "\(error)")

        let client = try LineSocket(tcpPort: fixture.tcpPort)
        try client.sendLines([
            "{\"auth\":\"\(ListenerFixture.wafToken)\"}", Self.listAdd(id: "poison-2", ttl: Self.poisonTTL),
        ])
        let answer = client.readJSON() ?? [:]
        #expect(answer["id"] as? String == "poison-2")
        #expect((answer["error"] as? String)?.contains("body.ttl") == true, "\(answer)")

        // The app goes on: a bounded TTL is applied, by the same worker process.
        let fine = try fixture.http(
            "POST", "/v1/events", body: Self.listAdd(id: "fine-1", ttl: "1h"),
            token: ListenerFixture.wafToken)
        #expect(fine.status == 202, "\(fine.body)")
        #expect(
            try eventually(timeout: 10) {
                try fixture.redis.cliRaw(["SISMEMBER", "mimic:shop:list:blacklist", "/x"], db: fixture.db("shop")) == [
                    "1"
                ]
            })
        #expect(try fixture.workerPID("shop") == worker, "the worker was not restarted")
        #expect(try fixture.ackedSeq("shop") == 1, "only the bounded message was journaled")
    }

    @Test func aWorkerGivenOneByAnOlderJournalRejectsItAndAcknowledges() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis, online: 2, standby: 1)
        try worker.start()
        let pid = worker.pid
        let client = try worker.connect()
        let body: [String: Any] = ["list": "blacklist", "op": "add", "url": "/y", "ttl": Self.poisonTTL]
        try client.sendJSON(
            deliveryFrame(epoch: "old-release", seq: 1, id: "poison-3", source: "waf", type: "list", body: body))
        #expect(client.readJSON()?["ack"] as? Int == 1, "acknowledged, so the listener moves on")
        try client.sendJSON(
            deliveryFrame(epoch: "old-release", seq: 2, id: "after-3", source: "admin", type: "pause", body: [:]))
        #expect(client.readJSON()?["ack"] as? Int == 2)
        #expect(ChildProcess.isAlive(pid))
        #expect(try worker.appliedSeq() == 2)
        let rejected = try worker.events().filter { $0["cause"] == "poison-3" }
        #expect(rejected.count == 1 && rejected[0]["reason"]?.contains("body.ttl") == true, "\(rejected)")
        #expect(try redis.cliRaw(["SCARD", "mimic:shop:list:blacklist"], db: worker.db) == ["0"])
    }
}
