import Foundation
import Shared
import TestSupport
import Testing

/// `mimic-worker --fence` (cluster mode, DESIGN section 11) as real processes over a real Redis:
/// the worker claims its token at start, commits while it holds it, and once a newer owner's
/// token is stored it commits and acknowledges nothing more and exits 3. The test plays both the
/// listener (frames over the socket) and the newer owner (its claim, with redis-cli).
@Suite(.serialized, .startsProcesses)
struct WorkerFenceTests {
    /// A health report for an unknown executor leaves exactly one note event (cause `msg-<seq>`).
    private func health(_ seq: Int) -> [String: Any] {
        deliveryFrame(
            epoch: "ep-f", seq: seq, source: "left_bracket", type: "health",
            body: ["executor": "ghost-\(seq)", "status": "up"])
    }

    private func worker(_ redis: RedisServer) throws -> WorkerFixture {
        try WorkerFixture(redis: redis, online: 2, standby: 1, minOnline: 1)
    }

    /// Pools full and nothing being created: the worker commits nothing until it is sent a frame.
    private func settled(_ worker: WorkerFixture) throws -> Bool {
        try worker.members("online").count == 2 && worker.members("standby").count == 1
            && worker.members("initializing").isEmpty
    }

    private func ack(_ socket: LineSocket, until seq: Int, timeout: TimeInterval = 20) -> Int {
        var last = 0
        while last < seq, let reply = socket.readJSON(timeout: timeout) { last = reply["ack"] as? Int ?? last }
        return last
    }

    private func exitCode(_ worker: WorkerFixture, within timeout: TimeInterval) -> Int32? {
        _ = eventually(timeout: timeout) { ChildProcess.exitCode(worker.pid) != nil }
        return ChildProcess.exitCode(worker.pid)
    }

    @Test func aWorkerWithAFenceClaimsItAndCommitsAsUsual() throws {
        let redis = try RedisServer()
        let worker = try worker(redis)
        try worker.start(arguments: ["--fence", "5"])
        #expect(try worker.hash("mimic:shop:meta")["fence"] == "5")
        #expect(try eventually(timeout: 30) { try settled(worker) })
        let socket = try worker.connect()
        for seq in 1...3 { try socket.sendJSON(health(seq)) }
        #expect(ack(socket, until: 3) == 3)
        #expect(try worker.appliedSeq() == 3)
        #expect(try worker.events().filter { $0["cause"]?.hasPrefix("msg-") == true }.count == 3)
        // The scripts go as EVAL with their text: a flushed script cache changes nothing.
        _ = try redis.cli(["SCRIPT", "FLUSH"], db: 1)
        try socket.sendJSON(health(4))
        #expect(ack(socket, until: 4) == 4)
        #expect(try worker.appliedSeq() == 4)
        #expect(try worker.hash("mimic:shop:meta")["fence"] == "5")
        #expect(worker.isAlive)
    }

    @Test func aNewerOwnersFenceStopsTheWorkerBeforeItCommitsOrAcknowledgesAnything() throws {
        let redis = try RedisServer()
        let worker = try worker(redis)
        try worker.start(arguments: ["--fence", "5"])
        #expect(try eventually(timeout: 30) { try settled(worker) })
        let socket = try worker.connect()
        try socket.sendJSON(health(1))
        #expect(ack(socket, until: 1) == 1)

        // The newer owner's claim, as its worker's script would write it; then a flushed cache.
        _ = try redis.cli(["HSET", "mimic:shop:meta", "fence", "6"], db: 1)
        _ = try redis.cli(["SCRIPT", "FLUSH"], db: 1)
        let commitBefore = try worker.hash("mimic:shop:meta")["commit"]
        let eventsBefore = try worker.events().count
        try socket.sendJSON(health(2))
        var acks: [Int] = []
        while let reply = socket.readJSON(timeout: 5) {
            if let ack = reply["ack"] as? Int { acks.append(ack) }
        }
        #expect(acks.isEmpty, "a fenced commit is never acknowledged: \(acks)")
        #expect(exitCode(worker, within: 15) == 3, "\(worker.log())")
        #expect(try worker.appliedSeq() == 1)
        #expect(try worker.hash("mimic:shop:meta")["commit"] == commitBefore)
        #expect(try worker.hash("mimic:shop:meta")["fence"] == "6")
        #expect(try worker.events().count == eventsBefore)
        #expect(try worker.events().allSatisfy { $0["cause"] != "msg-2" })
        let log = worker.log()
        #expect(log.contains("mimic-worker: shop: commit"), "the stderr line names the app: \(log)")
        #expect(log.contains("holds fence 6, newer than this worker's fence 5"))
        #expect(log.contains("a newer owner runs this app, so this instance must not run it"))
        // Transitions and notes are logged once committed: the fenced batch's note is not.
        #expect(log.contains("\"cause\":\"msg-1\""), "the committed batch's note is logged: \(log)")
        #expect(!log.contains("\"cause\":\"msg-2\""), "a note of the fenced batch is logged: \(log)")
    }

    @Test func aWorkerPausedPastItsLeaseNeverCommitsAgainOnceResumed() throws {
        let redis = try RedisServer()
        let worker = try worker(redis)
        try worker.start(arguments: ["--fence", "5"])
        #expect(try eventually(timeout: 30) { try settled(worker) })
        let socket = try worker.connect()
        try socket.sendJSON(health(1))
        #expect(ack(socket, until: 1) == 1)

        // SIGSTOP past the lease; meanwhile the new owner claims (6) and commits seq 2 itself.
        ChildProcess.signal(worker.pid, SIGSTOP)
        try socket.sendJSON(health(2))
        _ = try redis.cli(["HSET", "mimic:shop:meta", "fence", "6"], db: 1)
        _ = try redis.cli(["HSET", "mimic:shop:applied", "seq", "2"], db: 1)
        let metaBefore = try worker.hash("mimic:shop:meta")
        let eventsBefore = try worker.events().count
        ChildProcess.signal(worker.pid, SIGCONT)
        var acks: [Int] = []
        while let reply = socket.readJSON(timeout: 5) {
            if let ack = reply["ack"] as? Int { acks.append(ack) }
        }
        #expect(acks.isEmpty, "\(acks)")
        #expect(exitCode(worker, within: 15) == 3, "\(worker.log())")
        #expect(try worker.hash("mimic:shop:meta") == metaBefore)
        #expect(try worker.appliedSeq() == 2)
        #expect(try worker.events().count == eventsBefore)
    }

    @Test func withRedisWaitTheWorkerServesOnlyOnceAReplicaHasItsClaim() throws {
        let master = try RedisServer()
        let worker = try WorkerFixture(
            redis: master, online: 2, standby: 1, minOnline: 1,
            redisBlock: "redis: { host: 127.0.0.1, port: \(master.port), db: 1, wait: { replicas: 1, timeout: 100ms } }"
        )
        try worker.start(arguments: ["--fence", "5"])
        // No replica: the claim's WAIT falls short, so the worker retries and loads nothing.
        Thread.sleep(forTimeInterval: 1.5)
        #expect(worker.isAlive)
        #expect(try worker.status()["redis"] as? String == "down")
        #expect(try worker.members("online").isEmpty && worker.members("initializing").isEmpty)
        #expect(try worker.hash("mimic:shop:meta")["commit"] == nil)

        let replica = try RedisServer(extraArguments: ["--replicaof", "127.0.0.1", "\(master.port)"])
        #expect(try eventually(timeout: 30) { try settled(worker) })
        #expect(try replica.cliRaw(["HGET", "mimic:shop:meta", "fence"], db: 1) == ["5"])
        let socket = try worker.connect()
        try socket.sendJSON(health(1))
        #expect(ack(socket, until: 1) == 1)
    }

    @Test func aWorkerWithAnOlderFenceExitsAtStartWithoutWritingAnything() throws {
        let redis = try RedisServer()
        _ = try redis.cli(["HSET", "mimic:shop:meta", "fence", "5"], db: 1)
        let worker = try worker(redis)
        try worker.launch(arguments: ["--fence", "4"])
        #expect(exitCode(worker, within: 20) == 3, "\(worker.log())")
        #expect(try redis.cliRaw(["KEYS", "*"], db: 1) == ["mimic:shop:meta"])
        #expect(try worker.hash("mimic:shop:meta") == ["fence": "5"])
        let log = worker.log()
        #expect(
            log.contains(
                "mimic-worker: shop: start with fence 4 refused: mimic:shop:meta holds fence 5, newer than this "
                    + "worker's fence 4: a newer owner runs this app, so this instance must not run it"), "\(log)")
        // No hook ran: no executor was started.
        let started = (try? FileManager.default.contentsOfDirectory(atPath: worker.executorDir)) ?? []
        #expect(started.isEmpty, "\(started)")
    }

    @Test func theSyslogExporterSendsNothingUntilTheFenceIsClaimed() throws {
        let rsyslog = try RsyslogServer()
        let master = try RedisServer()
        // An event a previous owner committed: an exporter that ran before the claim would send it.
        _ = try master.cli(
            [
                "XADD", "mimic:shop:events", "*", "kind", "note", "executor", "", "reason", "r", "cause", "c", "time",
                "1",
            ],
            db: 1)
        let worker = try WorkerFixture(
            redis: master, online: 2, standby: 1, minOnline: 1,
            scheduling: "scheduling: { seed: 42 }\nlog_export: { syslog: \"tcp://127.0.0.1:\(rsyslog.port)\" }",
            redisBlock: "redis: { host: 127.0.0.1, port: \(master.port), db: 1, wait: { replicas: 1, timeout: 100ms } }"
        )
        try worker.start(arguments: ["--fence", "5"])
        // No replica: the claim is retried, and meanwhile nothing is exported.
        Thread.sleep(forTimeInterval: 2)
        #expect(try rsyslog.received().isEmpty)
        #expect(try master.cliRaw(["EXISTS", "mimic:shop:export:syslog"], db: 1) == ["0"])

        let replica = try RedisServer(extraArguments: ["--replicaof", "127.0.0.1", "\(master.port)"])
        #expect(try eventually(timeout: 30) { try rsyslog.received().contains { $0["cause"] == "c" } })
        #expect(try eventually { try replica.cliRaw(["HGET", "mimic:shop:meta", "fence"], db: 1) == ["5"] })
    }

    @Test func withoutAFenceAStoredFenceIsIgnored() throws {
        let redis = try RedisServer()
        _ = try redis.cli(["HSET", "mimic:shop:meta", "fence", "9"], db: 1)
        let worker = try worker(redis)
        try worker.start()
        #expect(try eventually(timeout: 30) { try settled(worker) })
        let socket = try worker.connect()
        for seq in 1...2 { try socket.sendJSON(health(seq)) }
        #expect(ack(socket, until: 2) == 2)
        #expect(try worker.appliedSeq() == 2)
        #expect(try worker.hash("mimic:shop:meta")["fence"] == "9")
        #expect(worker.isAlive)
    }

    @Test(arguments: ["0", "-3", "abc", "5x", ""])
    func aFenceThatIsNotAPositiveIntegerIsAUsageError(_ token: String) throws {
        let redis = try RedisServer()
        let worker = try worker(redis)
        let run = try ChildProcess.runCapturing(
            executable: try BuiltProducts.path("mimic-worker"),
            arguments: ["--config", worker.configPath, "--run-dir", worker.runDir, "--fence", token])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("--fence"), "\(run.stderr)")
        #expect(try redis.cliRaw(["DBSIZE"], db: 1) == ["0"])
    }
}
