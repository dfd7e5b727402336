import Foundation
import Shared
import TestSupport
import Testing

/// Issue 12, finding 2, through the whole fleet: Redis restored to a backup while the listener and
/// the worker run. The worker's next commit is refused (its predecessor is gone), it reloads and
/// says `hello` with what Redis holds, and the listener replays the acknowledged records it kept
/// (`journal_retain`). At the end every message has exactly one effect and nothing stalls.
@Suite(.serialized, .startsProcesses)
struct RedisRollbackTests {
    static func batch(_ range: ClosedRange<Int>) -> String {
        "[" + range.map { Messages.health("shop", id: "rb-\($0)") }.joined(separator: ",") + "]"
    }

    @Test func aBackupRestoredUnderTheFleetIsReplayedAndEveryMessageHasOneEffect() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        #expect(try fixture.http("POST", "/v1/events", body: Self.batch(1...50)).status == 202)
        #expect(try eventually(timeout: 20) { try fixture.appliedSeq("shop") == 50 })
        let backup = try fixture.redis.snapshot()
        #expect(try fixture.http("POST", "/v1/events", body: Self.batch(51...100)).status == 202)
        #expect(try eventually(timeout: 20) { try fixture.ackedSeq("shop") == 100 })

        try fixture.redis.rollBack(to: backup)
        #expect(try fixture.appliedSeq("shop") == 50, "the backup lost seqs 51...100")
        #expect(try fixture.http("POST", "/v1/events", body: Self.batch(101...150)).status == 202)

        let caughtUp = try eventually(timeout: 60, interval: 0.2) {
            try fixture.appliedSeq("shop") == 150 && fixture.ackedSeq("shop") == 150
        }
        #expect(caughtUp, "applied \((try? fixture.appliedSeq("shop")) ?? -1): \(fixture.log().suffix(3000))")
        var effects: [String: Int] = [:]
        for event in try fixture.events("shop") where event["cause"]?.hasPrefix("rb-") == true {
            effects[event["cause"]!, default: 0] += 1
        }
        #expect(effects.count == 150, "messages without an effect: \(150 - effects.count)")
        #expect(effects.values.allSatisfy { $0 == 1 }, "\(effects.filter { $0.value != 1 }.keys.sorted().prefix(10))")
        let status = try fixture.appsStatus()["shop"] ?? [:]
        #expect(((status["journal"] as? [String: Any])?["skipped"] as? Int ?? 0) == 0, "nothing had to be skipped")
    }
}
