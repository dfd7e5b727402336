import Foundation
import TestSupport
import Testing

/// The worker socket's door (issue 8): delivery frames only from the listener's uid (SO_PEERCRED),
/// status/executors/ping open to any peer the 0660 socket admits, garbage answered, nothing of a
/// refused frame applied.
@Suite(.serialized, .startsProcesses)
struct WorkerSocketPeerTests {
    static func unknownHealth(seq: Int) -> [String: Any] {
        deliveryFrame(
            epoch: "peer-test", seq: seq, source: "left_bracket", type: "health",
            body: ["executor": "ghost", "status": "up"])
    }

    @Test func framesFromAnotherUIDAreRefusedButOpsAnswered() throws {
        let redis = try RedisServer()
        // The listener is declared to run as another uid than this test (and the worker).
        let other = getuid() + 4242
        let worker = try WorkerFixture(
            redis: redis, online: 1, standby: 0, minOnline: 1, retainDirty: 0,
            scheduling: "scheduling: { seed: 42 }\nlistener_uid: \(other)")
        try worker.start()
        let client = try worker.connect()
        let refused = try client.request(Self.unknownHealth(seq: 1))
        #expect(refused["seq"] as? Int == 1)
        #expect((refused["error"] as? String)?.contains("only from uid \(other)") == true)
        #expect(refused["ack"] == nil)
        // The same connection still answers ops.
        #expect(try client.request(["op": "ping"])["pong"] as? Bool == true)
        #expect(try client.request(["op": "status"])["app"] as? String == "shop")
        #expect(try client.request(["op": "executors"])["error"] == nil)
        // Garbage gets an error line, not a crash.
        try client.send("\u{1}\u{2}not json at all")
        #expect(client.readJSON()?["error"] != nil)
        #expect(try client.request(["op": "ping"])["pong"] as? Bool == true)
        // Nothing was applied.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try worker.appliedSeq() == nil)
        #expect(ChildProcess.isAlive(worker.pid))
    }

    @Test func framesFromTheListenerUIDAreApplied() throws {
        let redis = try RedisServer()
        // Default: the worker's own uid, which is this test's.
        let worker = try WorkerFixture(
            redis: redis, online: 1, standby: 0, minOnline: 1, retainDirty: 0,
            scheduling: "scheduling: { seed: 42 }")
        try worker.start()
        let client = try worker.connect()
        #expect(try client.request(Self.unknownHealth(seq: 1))["ack"] as? Int == 1)
        #expect(try worker.appliedSeq() == 1)
        // And explicitly configured as our uid.
        let explicit = try WorkerFixture(
            app: "blog", db: 2, redis: redis, online: 1, standby: 0, minOnline: 1, retainDirty: 0,
            scheduling: "scheduling: { seed: 42 }\nlistener_uid: \(getuid())")
        try explicit.start()
        let frame = deliveryFrame(
            epoch: "peer-test", seq: 1, app: "blog", source: "left_bracket", type: "health",
            body: ["executor": "ghost", "status": "up"])
        #expect(try explicit.connect().request(frame)["ack"] as? Int == 1)
    }
}
