import Foundation
import Shared
import TestSupport
import Testing

/// DESIGN section 10 on the worker, as a real process over its socket with a real Redis: policy
/// memory survives kill -9, the rules run on each message's accept time, a Redis that lost writes
/// is noticed by the commit script and replayed through `hello`, a gap is skipped loudly, and a
/// frame the worker keeps dying on is dead-lettered. The test plays the listener's part of the link.
@Suite(.serialized, .startsProcesses)
struct DurableDecisionTests {
    private func arbitration(
        _ seq: Int, epoch: String = "ep-d", at: Int64? = nil, online: [String], dissenters: [String],
        url: String = "/login"
    ) -> [String: Any] {
        deliveryFrame(
            epoch: epoch, seq: seq, at: at, source: "right_bracket", type: "arbitration",
            body: ["url": url, "executors": online, "dissenters": dissenters])
    }

    private func health(_ seq: Int, epoch: String = "ep-d") -> [String: Any] {
        // A health report for an unknown executor leaves exactly one note event: one effect per message.
        deliveryFrame(
            epoch: epoch, seq: seq, source: "left_bracket", type: "health",
            body: ["executor": "ghost-\(seq)", "status": "up"])
    }

    /// A started worker (with its own Redis) whose pool has settled, and its online executors in id order. Settled
    /// first: a standby of a variant missing online, ready later, would make the pool swap out the
    /// duplicate with the lowest confidence (the one that just dissented).
    /// The findings are about the window rule's memory: the learned feedback, which would eject at
    /// the third dissent on one URL however far apart, is off (LearningEndToEndTests has it).
    static func settledWorker() throws -> (WorkerFixture, [String]) {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis,
            scheduling: "scheduling: { seed: 42, abnormal: { dissents: 3, window: 60s }, learning: { enabled: false } }"
        )
        try worker.start()
        #expect(try eventually(timeout: 30) { try settled(worker) })
        return (worker, try worker.members("online").sorted())
    }

    /// Online and standby full, every variant online once, nothing being created.
    static func settled(_ worker: WorkerFixture) throws -> Bool {
        let online = try worker.members("online")
        guard online.count == 3, try worker.members("standby").count == 2,
            try worker.members("initializing").isEmpty
        else { return false }
        let variants = try online.map { try worker.hash("mimic:shop:exec:\($0)")["variant"] ?? "" }
        return Set(variants).count == 3
    }

    private func ack(_ socket: LineSocket, until seq: Int, timeout: TimeInterval = 20) -> Int {
        var last = 0
        while last < seq, let reply = socket.readJSON(timeout: timeout) { last = reply["ack"] as? Int ?? last }
        return last
    }

    /// Finding 3 of issue 12: two dissents, kill -9, a third dissent used to eject nobody.
    @Test func dissentsBeforeAKill9StillCountAfterIt() throws {
        let (worker, online) = try Self.settledWorker()
        let suspect = online[0]
        let at: Int64 = 1_795_948_383_000
        var socket = try worker.connect()
        for seq in 1...2 {
            try socket.sendJSON(arbitration(seq, at: at + Int64(seq) * 1000, online: online, dissenters: [suspect]))
        }
        #expect(ack(socket, until: 2) == 2)
        #expect(try worker.members("online").contains(suspect))

        worker.kill9()
        try worker.start()
        socket = try worker.connect()
        try socket.sendJSON(arbitration(3, at: at + 3000, online: online, dissenters: [suspect]))
        #expect(ack(socket, until: 3) == 3)
        #expect(try worker.members("dirty") == [suspect], "the third dissent inside the window ejects")
        #expect(try worker.hash("mimic:shop:exec:\(suspect)")["reason"]?.contains("3 dissents") == true)
    }

    /// Finding 3, second half: a backlog applied in one batch used to take one `now` for all of it.
    @Test func aReplayedBacklogDecidesOnEachMessagesAcceptTime() throws {
        let (worker, online) = try Self.settledWorker()
        let suspect = online[0]
        // Three dissents 70 s apart: live, each one had left the 60 s window before the next came.
        let at: Int64 = 1_795_948_383_000
        let lines = (1...3).map { seq -> String in
            let frame = arbitration(seq, at: at + Int64(seq - 1) * 70_000, online: online, dissenters: [suspect])
            return String(decoding: try! JSONSerialization.data(withJSONObject: frame), as: UTF8.self)
        }
        let socket = try worker.connect()
        try socket.send(lines.joined(separator: "\n"))
        #expect(ack(socket, until: 3) == 3)
        #expect(try worker.members("online").contains(suspect), "no two dissents were inside one window")
        #expect(try worker.members("dirty").isEmpty)
        // And the stored memory is the one a live run would have: one dissent in the window.
        let memory = try worker.redis.cliRaw(["GET", "mimic:shop:policy"], db: worker.db).joined()
        #expect(memory.contains("\"\(suspect)\":[\(at + 140_000)]"), "\(memory)")
    }

    /// Finding 2 of issue 12: Redis restored from a backup under a running worker. The commit
    /// script used to accept the next batch on top of the older state (applied seq jumped, the
    /// messages in between had no effect). Now the commit is refused, the worker reloads and
    /// closes the link, answers `hello` with what Redis holds, and the replay gives every
    /// message exactly one effect.
    @Test func aRedisRolledBackUnderARunningWorkerIsReplayedNotSkipped() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        var socket = try worker.connect()
        #expect(try socket.request(["op": "hello"])["hello"] as? [String: Any] != nil)
        for seq in 1...20 { try socket.sendJSON(health(seq)) }
        #expect(ack(socket, until: 20) == 20)
        let backup = try redis.snapshot()
        for seq in 21...40 { try socket.sendJSON(health(seq)) }
        #expect(ack(socket, until: 40) == 40)

        try redis.rollBack(to: backup)
        #expect(try worker.appliedSeq() == 20, "the restored Redis lost seqs 21...40")
        // The listener does not know: it sends what comes next.
        for seq in 41...45 { try socket.sendJSON(health(seq)) }
        var closed = false
        while let reply = socket.readJSON(timeout: 20) {
            #expect(reply["ack"] as? Int ?? 0 <= 40, "nothing past the lost writes is acknowledged: \(reply)")
        }
        closed = true
        #expect(closed)
        #expect(try worker.appliedSeq() == 20, "the refused commit wrote nothing")

        socket = try worker.connect()
        let hello = try #require(try socket.request(["op": "hello"])["hello"] as? [String: Any])
        #expect(hello["epoch"] as? String == "ep-d" && hello["seq"] as? Int == 20)
        for seq in 21...45 { try socket.sendJSON(health(seq)) }
        #expect(ack(socket, until: 45) == 45)
        #expect(try worker.appliedSeq() == 45)
        var effects: [String: Int] = [:]
        for event in try worker.events() where event["kind"] == "note" && event["cause"]?.hasPrefix("msg-") == true {
            effects[event["cause"]!, default: 0] += 1
        }
        #expect(effects.count == 45 && effects.values.allSatisfy { $0 == 1 }, "\(effects.filter { $0.value != 1 })")
    }

    @Test func aGapIsSkippedCountedAndSaidAndAGapAheadIsRefused() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        let socket = try worker.connect()
        for seq in 1...3 { try socket.sendJSON(health(seq)) }
        #expect(ack(socket, until: 3) == 3)
        try socket.send(#"{"gap":{"epoch":"ep-d","from":9,"to":12}}"#)
        let refused = try #require(socket.readJSON())
        #expect((refused["error"] as? String)?.contains("resend from 4") == true, "\(refused)")
        try socket.send(#"{"gap":{"epoch":"ep-d","from":4,"to":12}}"#)
        #expect(ack(socket, until: 12) == 12)
        try socket.sendJSON(health(13))
        #expect(ack(socket, until: 13) == 13)
        #expect(try worker.appliedSeq() == 13)
        let status = try worker.status()
        #expect(status["skipped"] as? Int == 9 && status["dead_letters"] as? Int == 0)
        #expect(try worker.hash("mimic:shop:meta")["skipped"] == "9")
        let gaps = try worker.events().filter { $0["kind"] == "gap" }
        #expect(gaps.count == 1 && gaps.first?["reason"]?.contains("9 messages skipped") == true)
        // A void range moves the cursor without counting a loss, and is counted apart.
        try socket.send(#"{"gap":{"epoch":"ep-d","from":14,"to":15,"void":true}}"#)
        #expect(ack(socket, until: 15) == 15)
        #expect(try worker.status()["skipped"] as? Int == 9)
        #expect(try worker.hash("mimic:shop:meta")["voided"] == "2")
    }

    /// A frame the worker dies on (fault injection stands in for a rule defect) is dead-lettered
    /// after three deaths in a row, and the app goes on. The test restarts the worker and resends
    /// what was not acknowledged, as the listener's supervisor and link do. The last process gets
    /// its frames while Redis is paused, before it has loaded its state: the socket is open by
    /// then, and the dead letter must still carry the frame's envelope.
    @Test func aFrameTheWorkerDiesOnThreeTimesIsDeadLetteredAndTheAppGoesOn() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        let trap = ["MIMIC_FAULT_TRAP_ID_PREFIX": "msg-5"]
        try worker.launch(environment: trap)
        func connected() throws -> LineSocket {
            let up = try eventually(timeout: 20) {
                guard worker.isAlive else { throw TestSupportError("worker exited early: \(worker.log())") }
                return (try? worker.connect()) != nil
            }
            #expect(up)
            return try worker.connect()
        }
        var socket = try connected()
        for seq in 1...8 { try socket.sendJSON(health(seq)) }
        var deaths = 0
        while deaths < 3 {
            _ = ack(socket, until: 8, timeout: 10)
            #expect(eventually(timeout: 20) { !worker.isAlive }, "death \(deaths + 1)")
            deaths += 1
            let applied = try worker.appliedSeq() ?? 0
            #expect(applied <= 4)
            if deaths == 3 { redis.pause() }
            try worker.launch(environment: trap)
            socket = try connected()
            for seq in (applied + 1)...8 { try socket.sendJSON(health(seq)) }
            if deaths == 3 {
                Thread.sleep(forTimeInterval: 0.5)
                redis.resume()
            }
        }
        #expect(ack(socket, until: 8) == 8, "the fourth process dead-letters seq 5 and applies the rest")
        #expect(worker.isAlive, "\(worker.log().suffix(3000))")
        #expect(try worker.appliedSeq() == 8)
        let letters = try redis.streamEntries("mimic:shop:deadletter", db: worker.db)
        #expect(letters.count == 1)
        #expect(letters.first?["id"] == "msg-5" && letters.first?["seq"] == "5")
        #expect(letters.first?["envelope"]?.contains("\"ghost-5\"") == true, "\(letters)")
        let events = try worker.events()
        #expect(events.filter { $0["kind"] == "dead_letter" && $0["cause"] == "msg-5" }.count == 1)
        let effects = events.filter { $0["kind"] == "note" }.compactMap { $0["cause"] }
        #expect(Set(effects) == Set([1, 2, 3, 4, 6, 7, 8].map { "msg-\($0)" }) && effects.count == 7)
        #expect(try worker.status()["dead_letters"] as? Int == 1)
    }
}
