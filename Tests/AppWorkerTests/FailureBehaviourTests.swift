import Foundation
import TestSupport
import Testing

/// Broken hooks and Redis outages with real processes. Assertions read Redis and socket replies.
@Suite(.serialized, .startsProcesses)
struct FailureBehaviourTests {
    /// The example hooks with `create.sh` replaced by `body`.
    static func hooks(create body: String) throws -> String {
        let dir = try TempDirectory.make(prefix: "mimic-hooks")
        let examples = BuiltProducts.packageRoot.appendingPathComponent("examples/hooks")
        for file in try FileManager.default.contentsOfDirectory(atPath: examples.path) {
            try FileManager.default.copyItem(
                at: examples.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        let create = dir.appendingPathComponent("create.sh").path
        try FileManager.default.removeItem(atPath: create)
        try "#!/usr/bin/env bash\n\(body)\n".write(toFile: create, atomically: true, encoding: .utf8)
        chmod(create, 0o755)
        return dir.path
    }

    static func health(_ seq: Int, epoch: String = "ep") -> [String: Any] {
        deliveryFrame(
            epoch: epoch, seq: seq, source: "left_bracket", type: "health",
            body: ["executor": "ghost-\(seq)", "status": "up"])
    }

    static func line(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// How often each message took effect: each health report for an unknown executor leaves one note.
    static func effects(_ worker: WorkerFixture) throws -> [String: Int] {
        var effects: [String: Int] = [:]
        for event in try worker.events() where event["kind"] == "note" && event["cause"]?.hasPrefix("msg-") == true {
            effects[event["cause"]!, default: 0] += 1
        }
        return effects
    }

    @Test(arguments: [
        ("sleep 30", "timed out after 1s and was killed"),
        ("echo 'image not found' >&2; exit 3", "failed (exited(3)): image not found"),
        ("echo 'Starting...'; echo 'ready, listening on port eighty'", "last stdout line must be the endpoint"),
    ])
    func aBrokenCreateHookEndsOfflineWithItsErrorAndNeverStallsAcks(hook: String, reason: String) throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis, online: 1, standby: 0, minOnline: 1,
            hooksDir: try Self.hooks(create: hook), hookTimeout: "1s")
        try worker.start()
        #expect(try eventually { try worker.members("initializing").count == 1 })
        // While the hook runs (or hangs), messages are still committed and acknowledged at once.
        let socket = try worker.connect()
        for seq in 1...20 {
            let sent = Date()
            try socket.sendJSON(Self.health(seq))
            #expect(socket.readJSON(timeout: 2)?["ack"] as? Int == seq)
            #expect(Date().timeIntervalSince(sent) < 1)
        }
        #expect(try worker.appliedSeq() == 20)
        // Three attempts with backoff, then offline with the hook's error as the reason.
        #expect(try eventually(timeout: 10) { try !worker.members("offline").isEmpty })
        let id = try #require(try worker.members("offline").sorted().first)
        let hash = try worker.hash("mimic:shop:exec:\(id)")
        #expect(hash["reason"]?.hasPrefix("create failed: create hook") == true)
        #expect(hash["reason"]?.contains(reason) == true, "\(hash["reason"] ?? "")")
        #expect(try worker.status()["redis"] as? String == "up")
    }

    @Test func aWorkerStartedWhileRedisIsDownWaitsForItAndThenFillsThePools() throws {
        let redis = try RedisServer()
        redis.kill()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        let status = try worker.status()
        #expect(status["redis"] as? String == "down")
        #expect(status["loaded"] as? Bool == false)
        Thread.sleep(forTimeInterval: 1)
        #expect(ChildProcess.isAlive(worker.pid), "it waits, it does not exit")
        try redis.start()
        #expect(
            try eventually(timeout: 20) {
                try worker.members("online").count == 3 && worker.members("standby").count == 2
            })
        #expect(try worker.status()["redis"] as? String == "up")
    }

    /// A stream of messages while Redis dies (kill -9, append-only file) or hangs (SIGSTOP): acks
    /// stop, status says down, and afterwards, with the unacknowledged tail sent again as the
    /// listener's replay would, every message took effect exactly once.
    @Test(arguments: ["kill", "pause"])
    func aRedisOutageDuringAStreamLosesNothingAndAppliesNothingTwice(outage: String) throws {
        let redis = try RedisServer(appendOnly: true)
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 3 })
        let total = 1500
        let socket = try worker.connect()
        let sender = Thread {
            for seq in 1...total {
                try? socket.send(Self.line(Self.health(seq)))
                if seq % 10 == 0 { usleep(5_000) }
            }
        }
        sender.start()
        var ack = 0
        while ack < 200, let reply = socket.readJSON() { ack = reply["ack"] as? Int ?? ack }
        if outage == "kill" { redis.kill() } else { redis.pause() }
        let status = try worker.connect()
        #expect(try eventually(timeout: 10) { try status.request(["op": "status"])["redis"] as? String == "down" })
        // Nothing is acknowledged while Redis is down.
        while let reply = socket.readJSON(timeout: 0.5) { ack = reply["ack"] as? Int ?? ack }
        let ackDuringOutage = ack
        // A long stop leaves several retried copies of the batch queued in the stopped server;
        // they all run on SIGCONT, and must not apply it twice.
        Thread.sleep(forTimeInterval: outage == "pause" ? 7 : 1)
        #expect(socket.readJSON(timeout: 0.5) == nil, "no ack while Redis is down")
        #expect(ack < total)

        if outage == "kill" { try redis.start() } else { redis.resume() }
        #expect(try eventually(timeout: 20) { try status.request(["op": "status"])["redis"] as? String == "up" })
        while ack < total, let reply = socket.readJSON(timeout: 20) { ack = reply["ack"] as? Int ?? ack }
        #expect(ack == total)
        // The listener replays what it had not seen acknowledged when the outage began.
        let replay = ((ackDuringOutage + 1)...total).map { Self.line(Self.health($0)) }.joined(separator: "\n")
        try socket.send(replay)
        #expect(socket.readJSON(timeout: 20)?["ack"] as? Int == total)
        #expect(try worker.appliedSeq() == total)
        let effects = try Self.effects(worker)
        #expect(effects.count == total, "every message took effect")
        #expect(effects.values.allSatisfy { $0 == 1 }, "none twice")
    }

    @Test func duringAnOutageTheWorkerStopsReadingInsteadOfBufferingWithoutLimit() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 3 })
        redis.pause()
        defer { redis.resume() }
        let socket = try worker.connect()
        var written = 0
        while written < 100_000, try socket.sendIfWritable(Self.line(Self.health(written + 1)), timeout: 2) {
            written += 1
        }
        // 10,000 frames held by the worker plus what the kernel's socket buffers take.
        #expect(written < 20_000, "the worker stopped reading at \(written) frames")
        #expect(written > 10_000)
        redis.resume()
        // Reading resumes as the backlog drains; everything sent is applied once.
        var ack = 0
        while ack < written, let reply = socket.readJSON(timeout: 30) { ack = reply["ack"] as? Int ?? ack }
        #expect(ack == written)
        for seq in (written + 1)...(written + 100) { try socket.send(Self.line(Self.health(seq))) }
        while ack < written + 100, let reply = socket.readJSON(timeout: 30) { ack = reply["ack"] as? Int ?? ack }
        #expect(ack == written + 100)
        #expect(try worker.appliedSeq() == written + 100)
    }
}
