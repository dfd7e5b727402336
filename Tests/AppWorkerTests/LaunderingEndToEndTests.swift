import Foundation
import TestSupport
import Testing

/// Issue 16, item 2, over real processes (the release worker, real executor processes, real
/// Redis): the demo's laundering case. An executor of another variant dissents once on the
/// attacked URL (it was dying); the compromised executor then dissents alone on it on every
/// request. It must leave `online` at its third dissent, exactly as on a clean URL.
@Suite(.serialized, .startsProcesses)
struct LaunderingEndToEndTests {
    static let onlineChannel = "mimic:shop:online"
    static let attacked = "/admin/upload?f=x.php"

    @Test func aStrayDissentOfAnotherVariantDoesNotShelterTheCompromisedExecutor() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis, scheduling: "scheduling: { seed: 42, abnormal: { dissents: 3, window: 60s } }")
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.onlineChannel])
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let online = try worker.members("online").sorted()
        let compromised = online[0]
        let dying = online[1]
        #expect(
            try worker.hash("mimic:shop:exec:\(compromised)")["variant"]
                != worker.hash("mimic:shop:exec:\(dying)")["variant"])
        func arbitration(_ seq: Int, _ dissenter: String) -> [String: Any] {
            deliveryFrame(
                epoch: "l", seq: seq, id: "arb-\(seq)", source: "right_bracket", type: "arbitration",
                body: ["url": Self.attacked, "executors": online, "dissenters": [dissenter]])
        }
        try worker.deliver([arbitration(1, dying), arbitration(2, compromised), arbitration(3, compromised)])
        #expect(try worker.members("online").contains(compromised), "two dissents are not yet an anomaly")
        try worker.deliver([arbitration(4, compromised)])

        #expect(try worker.members("dirty") == [compromised])
        #expect(try !worker.members("online").contains(compromised))
        #expect(try worker.members("online").count == 3, "a standby took its place")
        #expect(try worker.members("online").contains(dying), "one stray dissent is not an anomaly")
        let ejection = try worker.events().filter { $0["executor"] == compromised && $0["to"] == "dirty" }
        #expect(ejection.count == 1 && ejection.first?["cause"] == "arb-4", "\(ejection)")
        #expect(ejection.first?["reason"]?.contains("3 dissents") == true, "\(ejection)")
        #expect(
            try redis.cliRaw(["SMEMBERS", "mimic:shop:list:blacklist"], db: 1).filter { !$0.isEmpty }.isEmpty,
            "the other variant agreed on the URL after its stray dissent: the request is not suspect")
        #expect(
            await settles {
                published.on(Self.onlineChannel).last.map {
                    ($0["online"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                }
                .map { $0.count == 3 && !$0.contains(compromised) } ?? false
            }, "the brackets were told")
        await published.close()
    }
}
