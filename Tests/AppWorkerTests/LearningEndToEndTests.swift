import Foundation
import TestSupport
import Testing

/// Issue 16, item 3, over real processes (the release worker, real executor processes, real
/// Redis): a slow drip that the fixed dissent rule never sees (one dissent every 31 s of policy
/// clock, never three inside 60 s) is ejected by the learned trust at its third dissent on the
/// pattern; the attacked build is kept in standby although heterogeneity alone would bring it
/// straight back; and after a `kill -9` of the worker the learned memory still ejects the next
/// executor of that build at its first dissent there.
@Suite(.serialized, .startsProcesses)
struct LearningEndToEndTests {
    static let onlineChannel = "mimic:shop:online"

    @Test func theLearnedTrustEjectsTheSlowDripGatesSelectionAndSurvivesKillNine() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis,
            scheduling: "scheduling: { seed: 42, abnormal: { dissents: 3, window: 60s }, "
                + "learning: { enabled: true, half_life: 10m, eject_below: 0.25 } }")
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.onlineChannel])
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        func variant(_ id: String) throws -> String { try worker.hash("mimic:shop:exec:\(id)")["variant"] ?? "" }
        let standbyVariants = Set(try worker.members("standby").map(variant))
        // Three variants over five executors: the two standbys are twins of two online builds.
        let online = try worker.members("online").sorted()
        let attacked = try #require(try online.first { standbyVariants.contains(try variant($0)) })
        let build = try variant(attacked)
        let twin = try #require(try worker.members("standby").first { try variant($0) == build })

        let start = Int64(Date().timeIntervalSince1970 * 1000)
        var seq = 0
        func arbitration(_ executors: [String], _ dissenter: String, url: String, at: Int64) -> [String: Any] {
            seq += 1
            return deliveryFrame(
                epoch: "e", seq: seq, id: "arb-\(seq)", at: at, source: "right_bracket", type: "arbitration",
                body: ["url": url, "executors": executors, "dissenters": [dissenter]])
        }
        try worker.deliver([arbitration(online, attacked, url: "/admin/upload?f=1", at: start)])
        try worker.deliver([arbitration(online, attacked, url: "/admin/upload?f=2", at: start + 31_000)])
        #expect(try worker.members("online").contains(attacked), "two dissents 31 s apart: nothing yet")
        try worker.deliver([arbitration(online, attacked, url: "/admin/upload?f=3", at: start + 62_000)])

        #expect(try worker.members("dirty") == [attacked], "never three inside the window, yet ejected")
        let ejection = try #require(try worker.events().last { $0["executor"] == attacked && $0["to"] == "dirty" })
        #expect(ejection["cause"] == "arb-3")
        #expect(ejection["reason"]?.hasPrefix("abnormal: learned: variant \(build) trusted 0.2") == true, "\(ejection)")
        #expect(ejection["reason"]?.contains("on /admin/upload?*") == true)
        let refilled = try worker.members("online")
        #expect(refilled.count == 3, "a standby took its place")
        #expect(
            try !refilled.contains { try variant($0) == build },
            "heterogeneity alone would pick \(twin) (farthest from the rest); the attacked build waits")
        #expect(try worker.members("standby").contains(twin))
        let memory = try #require(try redis.cliRaw(["GET", "mimic:shop:policy"], db: 1).first)
        #expect(memory.contains("\"learned\":{\"patterns\":{\"/admin/upload?*\":"), "committed with the ejection")
        #expect(
            await settles {
                published.on(Self.onlineChannel).last.map {
                    ($0["online"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                }
                .map { Set($0) == refilled } ?? false
            }, "the brackets were told")

        // kill -9: the learned memory is what the next process decides with.
        worker.kill9()
        try worker.start()
        #expect(try await settles { try worker.members("online") == refilled })
        seq += 1
        try worker.deliver([
            deliveryFrame(
                epoch: "e", seq: seq, id: "ops-\(seq)", at: start + 90_000, source: "admin", type: "set_state",
                body: ["executor": twin, "state": "online", "reason": "operator test"])
        ])
        let withTwin = try worker.members("online").sorted()
        #expect(withTwin.contains(twin), "an operator may still put it online")
        try worker.deliver([arbitration(withTwin, twin, url: "/admin/upload?f=4", at: start + 93_000)])
        #expect(try !worker.members("online").contains(twin), "one dissent where its build is distrusted")
        let second = try #require(try worker.events().last { $0["executor"] == twin && $0["from"] == "online" })
        #expect(second["reason"]?.hasPrefix("abnormal: learned: variant \(build)") == true, "\(second)")
        await published.close()
    }
}
