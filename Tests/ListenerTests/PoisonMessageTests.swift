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

    /// DESIGN section 10: a frame the worker still dies on (fault injection stands in for a rule
    /// defect) is dead-lettered after three deaths in a row; the supervisor's restarts and the
    /// link's replay are the real ones. Every other message takes effect, the acked seq moves on,
    /// and status, the page's API and /metrics count the dead letter.
    @Test func aFrameTheWorkerKeepsDyingOnIsDeadLetteredAndTheAppGoesOn() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"], environment: ["MIMIC_FAULT_TRAP_ID_PREFIX": "trap-1"])
        // The supervisor keeps the crash reporter short: a trapping worker waits for it, socket
        // and all (the 10-minute battery saw a full report outlast the listener's restart).
        let pid = try #require(try fixture.workerPID("shop"))
        let environ = (FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data())
            .split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        #expect(environ.contains("SWIFT_BACKTRACE=interactive=no,preset=friendly,symbolicate=fast"), "\(environ)")
        let ids = ["before-1", "before-2", "trap-1", "after-1", "after-2"]
        let body = "[" + ids.map { Messages.health("shop", id: $0) }.joined(separator: ",") + "]"
        let reply = try fixture.http("POST", "/v1/events", body: body)
        #expect(reply.status == 202, "\(reply.body)")
        let done = try eventually(timeout: 60, interval: 0.2) { try fixture.ackedSeq("shop") == 5 }
        #expect(done, "acked seq: \((try? fixture.ackedSeq("shop")) ?? -1); \(fixture.log().suffix(2000))")
        #expect(try fixture.appliedSeq("shop") == 5)
        let db = fixture.db("shop")
        let letters = try fixture.redis.streamEntries("mimic:shop:deadletter", db: db)
        #expect(letters.count == 1 && letters.first?["id"] == "trap-1" && letters.first?["seq"] == "3")
        #expect(
            letters.first?["envelope"] == Messages.health("shop", id: "trap-1"), "the sender's envelope, as journaled")
        let events = try fixture.events("shop")
        #expect(events.filter { $0["kind"] == "dead_letter" && $0["cause"] == "trap-1" }.count == 1)
        #expect(try fixture.eventsCaused("shop", ids: Set(ids)) == 5, "four notes and the dead letter")
        let restarts = ((try fixture.appsStatus()["shop"]?["worker"] as? [String: Any])?["restarts"] as? Int) ?? 0
        #expect(restarts >= 3, "the worker died three times on the frame")

        let situation = try fixture.http("GET", "/v1/situation", token: nil)
        let apps = situation.json["apps"] as? [[String: Any]] ?? []
        let scheduler = apps.first { $0["app"] as? String == "shop" }?["scheduler"] as? [String: Any]
        #expect(scheduler?["dead_letters"] as? Int == 1, "\(situation.body.prefix(500))")
        let metrics = try fixture.http("GET", "/metrics", token: nil)
        #expect(metrics.body.contains("mimic_worker_dead_letters_total{app=\"shop\"} 1"), "\(metrics.body)")
    }
}
