import Foundation
import TestSupport
import Testing

/// The policies end to end: a real worker process, real executor processes, real Redis, and a
/// real subscriber on the brackets' channels. Assertions read Redis and the published messages.
@Suite(.serialized, .startsProcesses)
struct PolicyEndToEndTests {
    static let online = "mimic:shop:online"
    static let lists = "mimic:shop:lists"

    @Test func timedRotationRotatesTheLongestOnlineWithJitterAndPauseStopsIt() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis, scheduling: "scheduling: { seed: 42, rotate_every: 1s, rotate_jitter: 0.2 }")
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.online])
        try worker.start()
        func rotations() throws -> [[String: String]] {
            try worker.events().filter {
                $0["kind"] == "transition" && $0["reason"]?.hasPrefix("timed rotation") == true
            }
        }
        #expect(try await settles(timeout: 20) { try rotations().count >= 3 })
        let first = try #require(try rotations().first)
        #expect(first["from"] == "online" && first["to"] == "cleaning" && first["cause"] == "timer")
        #expect(first["reason"] == "timed rotation (rotate_every=1s with jitter)")

        // Each rotation is a new online set with a higher version; the rotated one is gone from it.
        // The subscriber's task may lag on a loaded machine: wait for it, do not sample it.
        #expect(
            await settles { worker.versions(published.on(Self.online)).count >= 3 },
            "subscriber: \(published.failure.withLock { $0 } ?? "open")")
        let versions = worker.versions(published.on(Self.online))
        #expect(
            versions == versions.sorted() && Set(versions).count == versions.count, "versions only grow: \(versions)")
        #expect(try worker.members("online").count == 3)

        try worker.deliver([
            deliveryFrame(epoch: "ops", seq: 1, id: "pause-1", source: "admin", type: "pause", body: [:])
        ])
        #expect(try worker.hash("mimic:shop:meta")["paused"] == "1")
        let atPause = try rotations().count
        try await Task.sleep(for: .milliseconds(2_600))
        #expect(try rotations().count == atPause, "no timed rotation while paused")
        #expect(try worker.events().contains { $0["reason"] == "timed rotation skipped: scheduling is paused" })

        // An operator's rotate still forces one.
        try worker.deliver([
            deliveryFrame(epoch: "ops", seq: 2, id: "rotate-1", source: "admin", type: "rotate", body: [:])
        ])
        #expect(try worker.events().contains { $0["cause"] == "rotate-1" && $0["to"] == "cleaning" })
        try worker.deliver([
            deliveryFrame(epoch: "ops", seq: 3, id: "resume-1", source: "admin", type: "resume", body: [:])
        ])
        #expect(try await settles { try rotations().count > atPause })
        await published.close()
    }

    @Test func listChangesAreStoredPublishedAndExpire() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.editConfig("scheduling: {", "lists: { blacklist: [\"/admin/*\"] }\nscheduling: {")
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.lists])
        try worker.start()
        #expect(await settles { published.on(Self.lists).count == 1 })
        try worker.deliver([
            deliveryFrame(
                epoch: "l", seq: 1, id: "waf-1", source: "waf", type: "list",
                body: ["list": "blacklist", "op": "add", "url": "/wp-login.php", "ttl": "1s"]),
            deliveryFrame(
                epoch: "l", seq: 2, id: "ops-1", source: "admin", type: "list",
                body: ["list": "whitelist", "op": "add", "url": "/health"]),
        ])
        #expect(
            Set(try redis.cliRaw(["SMEMBERS", "mimic:shop:list:blacklist"], db: 1)) == ["/admin/*", "/wp-login.php"])
        #expect(try worker.sortedSet("mimic:shop:list:blacklist:expiry") == ["/wp-login.php"])
        #expect(try redis.cliRaw(["SMEMBERS", "mimic:shop:list:whitelist"], db: 1) == ["/health"])

        #expect(await settles { published.on(Self.lists).count == 4 })
        let messages = published.on(Self.lists)
        #expect(
            messages.map { "\($0["op"]!) \($0["list"]!) \($0["url"]!)" } == [
                "add blacklist /admin/*", "add blacklist /wp-login.php", "add whitelist /health",
                "remove blacklist /wp-login.php",
            ])
        #expect(messages[0]["reason"] as? String == "configured in lists.blacklist")
        #expect(messages[1]["cause"] as? String == "waf-1")
        #expect((messages[1]["expires_at"] as? Int ?? 0) > 0)
        #expect(messages[2]["expires_at"] == nil, "permanent")
        #expect(messages[3]["reason"] as? String == "expired")
        #expect(try redis.cliRaw(["SMEMBERS", "mimic:shop:list:blacklist"], db: 1) == ["/admin/*"])
        #expect(try worker.sortedSet("mimic:shop:list:blacklist:expiry").isEmpty)
        #expect(try worker.events().contains { $0["kind"] == "list" && $0["reason"] == "expired" })
        await published.close()
    }

    @Test func listExpiriesSurviveAWorkerKilledAndRestarted() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        try worker.deliver([
            deliveryFrame(
                epoch: "k", seq: 1, id: "waf-9", source: "waf", type: "list",
                body: ["list": "blacklist", "op": "add", "url": "/shell.php", "ttl": "5s"])
        ])
        worker.kill9()
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.lists])
        try worker.start()
        #expect(try redis.cliRaw(["SMEMBERS", "mimic:shop:list:blacklist"], db: 1) == ["/shell.php"])
        #expect(await settles { published.on(Self.lists).count == 1 })
        #expect(published.on(Self.lists).first?["reason"] as? String == "expired")
        #expect(try redis.cliRaw(["SMEMBERS", "mimic:shop:list:blacklist"], db: 1).filter { !$0.isEmpty }.isEmpty)
        #expect(try worker.sortedSet("mimic:shop:list:blacklist:expiry").isEmpty)
        await published.close()
    }

    @Test func aSuspectURLIsBlacklistedAndTheExecutorsAreNotEjected() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis, scheduling: "scheduling: { seed: 42, abnormal: { dissents: 2, window: 60s } }")
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.lists, Self.online])
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let online = try worker.members("online").sorted()
        func arbitration(_ seq: Int, _ url: String, _ dissenters: [String]) -> [String: Any] {
            deliveryFrame(
                epoch: "a", seq: seq, id: "arb-\(seq)", source: "right_bracket", type: "arbitration",
                body: ["url": url, "executors": online, "dissenters": dissenters])
        }
        // No majority: the URL, not the executors.
        try worker.deliver([arbitration(1, "/crafted", Array(online.prefix(2)))])
        // A poison URL on which every executor answers differently: blacklisted once, nobody
        // penalised however often it comes (the dissent threshold is 2).
        try worker.deliver([
            arbitration(2, "/poison", online), arbitration(3, "/poison", [online[0], online[1]]),
            arbitration(4, "/poison", [online[1], online[2]]), arbitration(5, "/poison", [online[0], online[2]]),
        ])
        #expect(try worker.members("online") == Set(online), "nobody ejected")
        #expect(try online.allSatisfy { try worker.hash("mimic:shop:exec:\($0)")["dissents"] == "0" })
        #expect(Set(try redis.cliRaw(["SMEMBERS", "mimic:shop:list:blacklist"], db: 1)) == ["/crafted", "/poison"])
        #expect(try worker.sortedSet("mimic:shop:list:blacklist:expiry").count == 2)
        #expect(await settles { published.on(Self.lists).count == 2 })
        let suspected = published.on(Self.lists)
        #expect(suspected.map { $0["url"] as? String } == ["/crafted", "/poison"])
        #expect(suspected.map { $0["cause"] as? String } == ["arb-1", "arb-2"])
        #expect((suspected[1]["reason"] as? String)?.contains("no majority, 3 of 3") == true)
        #expect(
            try worker.events().contains { $0["cause"] == "arb-1" && $0["reason"]?.contains("no majority") == true })

        // A URL only one variant dissents on still counts: two dissents eject it.
        try worker.deliver([arbitration(6, "/cart", [online[2]]), arbitration(7, "/cart", [online[2]])])
        #expect(try worker.members("dirty") == [online[2]])
        #expect(try worker.members("online").count == 3)
        #expect(
            await settles {
                published.on(Self.online).last.map {
                    ($0["online"] as? [[String: Any]] ?? []).map { $0["id"] as? String }
                }
                .map { !$0.contains(online[2]) } ?? false
            })
        await published.close()
    }

    @Test func degradedReportsAndLowSeverityAlertsCountTowardsAbnormal() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis,
            scheduling:
                "scheduling: { seed: 42, abnormal: { dissents: 3, window: 60s, degraded: 2, low_severity: 2 } }")
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.online])
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let online = try worker.members("online").sorted()
        let address = try #require(worker.hash("mimic:shop:exec:\(online[1])")["endpoint"])
        try worker.deliver([
            deliveryFrame(
                epoch: "h", seq: 1, id: "hb-1", source: "left_bracket", type: "health",
                body: ["executor": online[0], "status": "degraded"]),
            deliveryFrame(
                epoch: "h", seq: 2, id: "hb-2", source: "left_bracket", type: "health",
                body: ["executor": online[0], "status": "degraded"]),
            deliveryFrame(
                epoch: "h", seq: 3, id: "fw-1", source: "firewall", type: "alert",
                body: ["executor": online[1], "severity": "low", "kind": "port_scan"]),
        ])
        #expect(try worker.hash("mimic:shop:exec:\(online[0])")["state"] == "dirty")
        #expect(
            try worker.hash("mimic:shop:exec:\(online[0])")["reason"] == "abnormal: 2 degraded reports within 60000 ms")
        #expect(try worker.hash("mimic:shop:exec:\(online[1])")["state"] == "online", "one low alert is only recorded")
        #expect(await settles { !published.on(Self.online).isEmpty }, "the first replacement was published")
        let versionsBefore = worker.versions(published.on(Self.online))
        // The second low alert, by the executor's ip:port, as a WAF reports its upstream.
        try worker.deliver([
            deliveryFrame(
                epoch: "h", seq: 4, id: "waf-2", source: "waf", type: "alert",
                body: ["address": address, "severity": "medium", "rule": "913100"])
        ])
        #expect(try worker.hash("mimic:shop:exec:\(online[1])")["state"] != "online")
        #expect(
            try worker.events().contains {
                $0["executor"] == online[1] && $0["cause"] == "waf-2" && $0["from"] == "online"
            })
        #expect(try worker.members("online").count == 3)
        #expect(await settles { worker.versions(published.on(Self.online)).count > versionsBefore.count })
        let versions = worker.versions(published.on(Self.online))
        #expect(versions == versions.sorted() && Set(versions).count == versions.count)
        await published.close()
    }

    @Test func anAnomalyWithoutAStandbyKeepsTheExecutorFlaggedUntilOneIsReady() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis, online: 2, standby: 1, minOnline: 2)
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 2 && worker.members("standby").count == 1 })
        let online = try worker.members("online").sorted()
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.online])
        // One batch: the first report uses the only standby, the second finds none ready.
        try worker.deliver([
            deliveryFrame(
                epoch: "m", seq: 1, id: "down-a", source: "left_bracket", type: "health",
                body: ["executor": online[0], "status": "down"]),
            deliveryFrame(
                epoch: "m", seq: 2, id: "down-b", source: "left_bracket", type: "health",
                body: ["executor": online[1], "status": "down"]),
        ])
        let kept = try worker.events().first { $0["cause"] == "down-b" }
        #expect(kept?["kind"] == "note")
        #expect(kept?["reason"]?.contains("kept online") == true && kept?["reason"]?.contains("min_online=2") == true)
        // Replaced the moment the new standby is ready, in the transaction that makes it ready.
        #expect(try await settles { try worker.hash("mimic:shop:exec:\(online[1])")["state"] != "online" })
        let replaced = try #require(try worker.events().first { $0["executor"] == online[1] && $0["from"] == "online" })
        #expect(replaced["reason"] == "abnormal: reported down by the left bracket")
        #expect(try worker.members("online").count == 2)
        #expect(try worker.hash("mimic:shop:exec:\(online[1])")["flagged"] == "0")
        // The brackets never saw fewer than two online.
        #expect(await settles { published.on(Self.online).count >= 2 })
        #expect(published.on(Self.online).allSatisfy { ($0["online"] as? [[String: Any]])?.count == 2 })
        let versions = worker.versions(published.on(Self.online))
        #expect(versions == versions.sorted() && Set(versions).count == versions.count)
        await published.close()
    }

    @Test func confidenceIsPublishedAsWeightOnlyWhenItMovesBeyondEpsilon() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let online = try worker.members("online").sorted()
        let published = try await PublishedMessages.subscribe(redis, db: 1, channels: [Self.online])
        func arbitration(_ seq: Int, _ dissenters: [String]) -> [String: Any] {
            deliveryFrame(
                epoch: "c", seq: seq, id: "c-\(seq)", source: "right_bracket", type: "arbitration",
                body: ["url": "/p\(seq)", "executors": online, "dissenters": dissenters])
        }
        try worker.deliver([arbitration(1, [online[0]])])
        #expect(await settles { published.on(Self.online).count == 1 })
        let weights = Dictionary(
            uniqueKeysWithValues: (published.on(Self.online)[0]["online"] as? [[String: Any]] ?? [])
                .map { ($0["id"] as! String, $0["weight"] as! Double) })
        #expect(weights == [online[0]: 0.85, online[1]: 1, online[2]: 1])
        #expect(try worker.hash("mimic:shop:exec:\(online[0])")["confidence"] == "0.8500")
        // Agreement: confidence recovers in steps below the epsilon, no new version.
        try worker.deliver((2...4).map { arbitration($0, []) })
        try await Task.sleep(for: .milliseconds(300))
        #expect(published.on(Self.online).count == 1)
        #expect(Double(try worker.hash("mimic:shop:exec:\(online[0])")["confidence"] ?? "") ?? 0 > 0.85)
        await published.close()
    }

    @Test func dirtyExecutorsAreReleasedToCleaningAfterDirtyTTL() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis, retainDirty: 2)
        try worker.editConfig("retain_dirty: 2 }", "retain_dirty: 2, dirty_ttl: 1s }")
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let target = try worker.members("online").sorted()[0]
        try worker.deliver([
            deliveryFrame(
                epoch: "d", seq: 1, id: "down-1", source: "left_bracket", type: "health",
                body: ["executor": target, "status": "down"])
        ])
        #expect(try worker.members("dirty") == [target])
        #expect(try await settles { try worker.members("dirty").subtracting([""]).isEmpty })
        let release = try worker.events().filter { $0["executor"] == target && $0["from"] == "dirty" }
        #expect(release.map { $0["to"] } == ["cleaning"])
        #expect(release.first?["reason"] == "released from dirty: dirty_ttl=1s elapsed")
        // Cleaned and ready again.
        #expect(try await settles { try worker.hash("mimic:shop:exec:\(target)")["state"] == "standby" })
    }

    @Test func anOperatorPuttingAStandbyOnlineRotatesTheLongestOnlineAndIllegalMovesAreRefused() async throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let standby = try worker.members("standby").sorted()[0]
        let oldest = try worker.members("online").min {
            (Int(try worker.hash("mimic:shop:exec:\($0)")["since"]!)!, $0)
                < (Int(try worker.hash("mimic:shop:exec:\($1)")["since"]!)!, $1)
        }!
        let other = try worker.members("online").subtracting([oldest]).sorted()[0]
        try worker.deliver([
            deliveryFrame(
                epoch: "s", seq: 1, id: "set-1", source: "admin", type: "set_state",
                body: ["executor": standby, "state": "online", "reason": "canary"]),
            deliveryFrame(
                epoch: "s", seq: 2, id: "set-2", source: "admin", type: "set_state",
                body: ["executor": other, "state": "offline", "reason": "maintenance"]),
            deliveryFrame(
                epoch: "s", seq: 3, id: "set-3", source: "admin", type: "set_state",
                body: ["executor": other, "state": "online"]),
        ])
        #expect(try worker.members("online").contains(standby))
        #expect(try worker.members("offline") == [other])
        #expect(try worker.members("online").count == 3, "the other standby replaced the one taken offline")
        let events = try worker.events()
        #expect(
            events.contains {
                $0["executor"] == oldest && $0["cause"] == "set-1" && $0["to"] == "cleaning"
                    && $0["reason"] == "rotated out: operator put \(standby) online"
            })
        #expect(
            events.contains { $0["executor"] == standby && $0["to"] == "online" && $0["reason"] == "operator: canary" })
        let refusal = events.first { $0["cause"] == "set-3" }
        #expect(refusal?["kind"] == "note")
        #expect(refusal?["reason"] == "set_state refused: offline -> online is not allowed (from offline: cleaning)")
        #expect(try worker.hash("mimic:shop:exec:\(other)")["state"] == "offline")
    }

    @Test func theWebhookReceivesEveryNewOnlineSetWithGrowingVersionsAndRetries() async throws {
        let redis = try RedisServer()
        let port = try FreePort.take()
        let directory = try TempDirectory.make(prefix: "mimic-webhook")
        defer { try? FileManager.default.removeItem(at: directory) }
        let received = directory.appendingPathComponent("received.ndjson").path
        let worker = try WorkerFixture(
            redis: redis,
            scheduling:
                "scheduling: { seed: 42 }\nbrackets: { webhook: \"http://127.0.0.1:\(port)/online\" }")
        // The bracket is not up yet: the worker must retry, not block or drop.
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let server = try ChildProcess.spawn(
            executable: "/usr/bin/python3",
            arguments: [
                "-c", Self.webhookServer, "\(port)", received,
            ])
        defer { ChildProcess.kill(server) }
        func posts() -> [[String: Any]] {
            ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        func storedVersion() throws -> Int {
            let view = try redis.cliRaw(["GET", "mimic:shop:online:view"], db: 1).joined()
            return (try JSONSerialization.jsonObject(with: Data(view.utf8)) as? [String: Any])?["version"] as? Int ?? 0
        }
        #expect(try await settles(timeout: 20) { try posts().last?["version"] as? Int == storedVersion() })
        let target = try worker.members("online").sorted()[0]
        try worker.deliver([
            deliveryFrame(
                epoch: "w", seq: 1, id: "down-1", source: "left_bracket", type: "health",
                body: ["executor": target, "status": "down"])
        ])
        #expect(
            try await settles { try (posts().last?["version"] as? Int ?? 0) == storedVersion() && storedVersion() > 1 })
        let all = posts()
        let versions = all.compactMap { $0["version"] as? Int }
        #expect(versions == versions.sorted() && Set(versions).count == versions.count, "\(versions)")
        let last = try #require(all.last)
        #expect(last["app"] as? String == "shop")
        let members = (last["online"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(Set(members) == (try worker.members("online")))
        #expect(!members.contains(target))
    }

    @Test func aWebhookThatNeverAnswersDoesNotDelayDecisions() async throws {
        let redis = try RedisServer()
        let port = try FreePort.take()
        // Accepts connections (the kernel's backlog) and never reads or answers.
        let silent = try ChildProcess.spawn(
            executable: "/usr/bin/python3",
            arguments: [
                "-c",
                "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(64); time.sleep(600)",
                "\(port)",
            ])
        defer { ChildProcess.kill(silent) }
        let worker = try WorkerFixture(
            redis: redis,
            scheduling:
                "scheduling: { seed: 42 }\nbrackets: { webhook: \"http://127.0.0.1:\(port)/online\" }")
        try worker.start()
        #expect(try await settles { try worker.members("online").count == 3 && worker.members("standby").count == 2 })
        let online = try worker.members("online").sorted()
        let started = ContinuousClock.now
        try worker.deliver(
            (1...20).map { seq in
                deliveryFrame(
                    epoch: "slow", seq: seq, source: "right_bracket", type: "arbitration",
                    body: ["url": "/p\(seq)", "executors": online, "dissenters": seq % 2 == 0 ? [online[seq % 3]] : []])
            })
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(3), "acks do not wait for the webhook (took \(elapsed))")
        #expect(try worker.appliedSeq() == 20)
        // Stopping does not wait for the hung POST either.
        let pid = worker.pid
        ChildProcess.signal(pid, SIGTERM)
        #expect(await settles(timeout: 8) { ChildProcess.exitCode(pid) != nil })
        #expect(ChildProcess.exitCode(pid) == 0)
    }

    /// Appends each POSTed body as one line and answers 204.
    static let webhookServer = """
        import http.server, sys
        port, path = int(sys.argv[1]), sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                with open(path, 'ab') as f:
                    f.write(body.replace(b'\\n', b'') + b'\\n')
                self.send_response(204)
                self.end_headers()
            def log_message(self, *args):
                pass
        http.server.HTTPServer(('127.0.0.1', port), Handler).serve_forever()
        """
}
