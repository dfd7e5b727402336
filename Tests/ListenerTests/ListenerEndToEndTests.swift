import Foundation
import Shared
import TestSupport
import Testing

/// Issue 3's end-to-end tests: real redis-server, real mimic-listener and mimic-worker processes,
/// real sockets. Assertions are on HTTP answers, Redis state and pids.
@Suite(.serialized, .startsProcesses) struct ListenerEndToEndTests {
    /// Sends `messages` over one TCP connection and returns the answers, in order.
    func sendTCP(_ fixture: ListenerFixture, _ messages: [String], token: String = ListenerFixture.adminToken) throws
        -> [[String: Any]]
    {
        let client = try LineSocket(tcpPort: fixture.tcpPort)
        try client.sendLines(["{\"auth\":\"\(token)\"}"] + messages)
        var answers: [[String: Any]] = []
        for _ in messages {
            guard let answer = client.readJSON() else { break }
            answers.append(answer)
        }
        return answers
    }

    /// Sends `messages` as HTTP arrays of `batch`; returns the number accepted.
    func sendHTTP(_ fixture: ListenerFixture, _ messages: [String], batch: Int = 250) throws -> Int {
        var accepted = 0
        var index = 0
        while index < messages.count {
            let slice = messages[index..<min(index + batch, messages.count)]
            let reply = try fixture.http("POST", "/v1/events", body: "[" + slice.joined(separator: ",") + "]")
            guard reply.status == 202 else { throw TestSupportError("HTTP \(reply.status): \(reply.body)") }
            accepted += reply.json["accepted"] as? Int ?? 0
            index += batch
        }
        return accepted
    }

    @Test func twoAppsTwentyThousandMessagesSurviveAWorkerKill() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let shopPID = try #require(try fixture.workerPID("shop"))
        let blogPID = try #require(try fixture.workerPID("blog"))
        let perApp = 10_000
        func messages(_ app: String, _ range: Range<Int>) -> [String] {
            range.map { Messages.mixed(app, id: "\(app)-\($0)", index: $0) }
        }
        let started = Date()
        // First half: HTTP and TCP for both apps.
        for app in ["shop", "blog"] {
            #expect(try sendHTTP(fixture, messages(app, 0..<2500)) == 2500)
            let answers = try sendTCP(fixture, messages(app, 2500..<5000))
            #expect(answers.count == 2500 && answers.allSatisfy { $0["ok"] != nil })
        }
        // kill -9 shop's worker half way. To keep shop down for certain while blog is checked, a
        // directory takes the place of its socket file: the restarted worker cannot bind and exits,
        // and the supervisor keeps retrying with backoff until the directory is gone.
        ChildProcess.signal(pid_t(shopPID), SIGKILL)
        let shopSocket = fixture.runDir + "/shop.sock"
        _ = ChildProcess.waitForExit(pid_t(shopPID), timeout: 5)
        try? FileManager.default.removeItem(atPath: shopSocket)
        try FileManager.default.createDirectory(atPath: shopSocket, withIntermediateDirectories: false)
        let blogAnswers = try sendTCP(fixture, messages("blog", 5000..<6000))
        #expect(blogAnswers.allSatisfy { $0["ok"] != nil })
        let blogFlowed = try eventually(timeout: 10, interval: 0.02) { try fixture.ackedSeq("blog") >= 6000 }
        #expect(blogFlowed)
        let whileDown = try fixture.appsStatus()
        #expect(
            (whileDown["shop"]?["worker"] as? [String: Any])?["connected"] as? Bool == false,
            "shop was down while blog's acks flowed")
        #expect(try fixture.ackedSeq("shop") <= 5000)
        try FileManager.default.removeItem(atPath: shopSocket)
        for app in ["shop", "blog"] {
            let from = app == "shop" ? 5000 : 6000
            let tcpEnd = from + (perApp - from) / 2
            let answers = try sendTCP(fixture, messages(app, from..<tcpEnd))
            #expect(answers.count == tcpEnd - from && answers.allSatisfy { $0["ok"] != nil })
            #expect(try sendHTTP(fixture, messages(app, tcpEnd..<perApp)) == perApp - tcpEnd)
        }
        let accepted = Date()
        let applied = try eventually(timeout: 60, interval: 0.1) {
            try fixture.appliedSeq("shop") == perApp && fixture.appliedSeq("blog") == perApp
        }
        let done = Date()
        #expect(
            applied, "shop \((try? fixture.appliedSeq("shop")) ?? -1), blog \((try? fixture.appliedSeq("blog")) ?? -1)")
        print(
            "20,000 messages: accepted in \(accepted.timeIntervalSince(started)) s, applied in \(done.timeIntervalSince(started)) s "
                + "(\(Int(Double(2 * perApp) / done.timeIntervalSince(started))) msgs/s end to end, through curl and one TCP client)"
        )
        let newShopPID = try fixture.workerPID("shop")
        #expect(newShopPID != nil && newShopPID != shopPID)
        #expect(try fixture.workerPID("blog") == blogPID)
        let shopWorker = try #require(try fixture.appsStatus()["shop"]?["worker"] as? [String: Any])
        #expect((shopWorker["restarts"] as? Int ?? 0) >= 1)
        for app in ["shop", "blog"] {
            let ids = Set((0..<perApp).map { "\(app)-\($0)" })
            #expect(try fixture.eventsCaused(app, ids: ids) > 0, "the rotations left transitions to check")
            #expect(try fixture.repeatedTransitions(app, ids: ids).isEmpty)
        }
        #expect(fixture.terminate())
    }

    @Test func listenerKill9MidStreamLosesNothingAndAppliesOnce() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let workerPID = try fixture.workerPID("shop")
        let total = 3000
        let all = (0..<total).map { Messages.mixed("shop", id: "k-\($0)", index: $0) }
        let client = try LineSocket(tcpPort: fixture.tcpPort)
        try client.sendLines(["{\"auth\":\"\(ListenerFixture.adminToken)\"}"] + Array(all[0..<1500]))
        var okIDs: Set<String> = []
        for _ in 0..<1500 {
            if let id = client.readJSON()?["ok"] as? String { okIDs.insert(id) }
        }
        #expect(okIDs.count == 1500)
        try client.sendLines(Array(all[1500..<total]))
        for _ in 0..<200 {
            if let id = client.readJSON()?["ok"] as? String { okIDs.insert(id) }
        }
        fixture.kill9()
        // Whatever was answered ok is in the journal; the rest is retried, and so are some answered ones.
        try fixture.start(apps: ["shop"])
        #expect(try fixture.workerPID("shop") == workerPID, "the restarted listener adopts the running worker")
        let answers = try sendTCP(fixture, Array(all[1000..<total]))
        #expect(answers.count == total - 1000 && answers.allSatisfy { $0["ok"] != nil })
        let retried = try fixture.http("POST", "/v1/events", body: "[" + all[0..<10].joined(separator: ",") + "]")
        #expect(retried.status == 202)
        #expect(
            try eventually(timeout: 30) { try fixture.appliedSeq("shop") == total },
            "applied \((try? fixture.appliedSeq("shop")) ?? -1)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try fixture.appliedSeq("shop") == total)
        let ids = Set((0..<total).map { "k-\($0)" })
        #expect(try fixture.eventsCaused("shop", ids: ids) > 0, "the rotations left transitions to check")
        #expect(try fixture.repeatedTransitions("shop", ids: ids).isEmpty)
        #expect(fixture.terminate())
    }

    @Test func backlogFullAnswers503AndAcceptedMessagesAreDeliveredLater() throws {
        let fixture = try ListenerFixture(apps: ["shop"], maxBacklogBytes: 40_000)
        try fixture.start(apps: ["shop"])
        let stop = try fixture.http("POST", "/v1/apps/shop/worker/stop")
        #expect(stop.status == 200, "\(stop.body)")
        #expect(
            try eventually {
                try fixture.appsStatus()["shop"]?["worker"].flatMap { ($0 as? [String: Any])?["connected"] as? Bool }
                    == false
            })
        var accepted = 0
        var refused: ListenerFixture.HTTPReply?
        for index in 0..<1000 {
            let reply = try fixture.http(
                "POST", "/v1/events",
                body: "[" + (0..<20).map { Messages.health("shop", id: "b-\(index)-\($0)") }.joined(separator: ",")
                    + "]")
            if reply.status == 202 {
                accepted += 20
            } else {
                refused = reply
                break
            }
        }
        let refusal = try #require(refused)
        #expect(refusal.status == 503)
        #expect((refusal.json["error"] as? String)?.contains("backlog") == true)
        #expect(accepted > 0)
        // TCP: a batch that does not fit gets 503 per line, with its id.
        let tcp = try sendTCP(fixture, (0..<40).map { Messages.health("shop", id: "b-tcp-\($0)") })
        accepted += tcp.filter { $0["ok"] != nil }.count
        #expect(tcp.contains { $0["code"] as? Int == 503 && ($0["id"] as? String)?.hasPrefix("b-tcp-") == true })
        #expect(tcp.allSatisfy { $0["ok"] != nil || $0["code"] as? Int == 503 })
        let start = try fixture.http("POST", "/v1/apps/shop/worker/start")
        #expect(start.status == 200)
        #expect(
            try eventually(timeout: 30) { try fixture.appliedSeq("shop") == accepted },
            "applied \((try? fixture.appliedSeq("shop")) ?? -1) of \(accepted)")
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "after")).status == 202)
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == accepted + 1 })
        #expect(fixture.terminate())
    }

    @Test func badInputGetsItsCodeAndValidTrafficContinues() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let valid = Messages.health("shop", id: "v-1")
        func post(_ body: String, token: String? = ListenerFixture.adminToken) throws -> ListenerFixture.HTTPReply {
            try fixture.http("POST", "/v1/events", body: body, token: token)
        }
        let cases: [(String, String, String?, Int, String)] = [
            ("malformed JSON", "{\"id\":", ListenerFixture.adminToken, 400, "malformed"),
            ("unknown app", Messages.health("nope", id: "x1"), ListenerFixture.adminToken, 404, "unknown app"),
            (
                "unknown source",
                "{\"id\":\"x2\",\"app\":\"shop\",\"source\":\"martian\",\"type\":\"health\",\"body\":{}}",
                ListenerFixture.adminToken, 400, "source"
            ),
            (
                "wrong type for source",
                "{\"id\":\"x3\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"rotate\",\"body\":{}}",
                ListenerFixture.adminToken, 400, "type"
            ),
            (
                "missing field", "{\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}",
                ListenerFixture.adminToken, 400, "id: required"
            ),
            (
                "missing body field",
                "{\"id\":\"x4\",\"app\":\"shop\",\"source\":\"left_bracket\",\"type\":\"health\",\"body\":{\"executor\":\"e1\"}}",
                ListenerFixture.adminToken, 400, "body.status"
            ),
            (
                "oversized",
                "{\"id\":\"x5\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{\"pad\":\"\(String(repeating: "x", count: 5000))\"}}",
                ListenerFixture.adminToken, 413, "max_message_bytes"
            ),
            ("no token", valid, nil, 401, "Bearer"),
            ("wrong token", valid, "not-a-token", 401, "unknown token"),
            ("token for another source", Messages.rotate("shop", id: "x6"), ListenerFixture.wafToken, 403, "source"),
            ("token for another app", Messages.rotate("blog", id: "x7"), ListenerFixture.shopOnlyToken, 403, "app"),
        ]
        for (name, body, token, status, text) in cases {
            let reply = try post(body, token: token)
            #expect(reply.status == status, "\(name): \(reply.status) \(reply.body)")
            #expect((reply.json["error"] as? String)?.contains(text) == true, "\(name): \(reply.body)")
            #expect(try post(valid).status == 202, "valid traffic after \(name)")
        }
        // One bad element rejects the whole array, naming its index.
        let array =
            "["
            + [Messages.health("shop", id: "a-1"), Messages.health("shop", id: "a-2"), "{\"id\":\"a-3\"}"].joined(
                separator: ",") + "]"
        let arrayReply = try post(array)
        #expect(arrayReply.status == 400 && arrayReply.json["index"] as? Int == 2, "\(arrayReply.body)")

        // TCP: bad lines get their code and the connection keeps serving.
        let client = try LineSocket(tcpPort: fixture.tcpPort)
        try client.sendLines([
            "{\"auth\":\"\(ListenerFixture.adminToken)\"}",
            "{\"id\":\"t-1\",\"app\":\"shop\"",
            Messages.health("nope", id: "t-2"),
            "{\"id\":\"t-3\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{\"pad\":\"\(String(repeating: "y", count: 5000))\"}}",
            Messages.health("shop", id: "t-4"),
        ])
        let truncated = client.readJSON()
        #expect(truncated?["code"] as? Int == 400 && truncated?["error"] != nil)
        #expect(client.readJSON()?["code"] as? Int == 404)
        #expect(client.readJSON()?["code"] as? Int == 413)
        #expect(client.readJSON()?["ok"] as? String == "t-4")
        let noAuth = try LineSocket(tcpPort: fixture.tcpPort)
        try noAuth.sendLines([Messages.health("shop", id: "t-5")])
        #expect(noAuth.readJSON()?["code"] as? Int == 401)
        #expect((try? noAuth.readLine(timeout: 5)) == nil, "connection closed after a failed auth")
        let wrongAuth = try LineSocket(tcpPort: fixture.tcpPort)
        try wrongAuth.sendLines(["{\"auth\":\"nope\"}", Messages.health("shop", id: "t-6")])
        #expect(wrongAuth.readJSON()?["code"] as? Int == 401)
        let scoped = try sendTCP(fixture, [Messages.rotate("blog", id: "t-7")], token: ListenerFixture.shopOnlyToken)
        #expect(scoped.first?["code"] as? Int == 403 && scoped.first?["id"] as? String == "t-7")

        // Only the valid messages took effect: v-1 (deduplicated across retries) and t-4.
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 2 })
        #expect(try fixture.appliedSeq("blog") == 0)
        #expect(fixture.terminate())
    }

    @Test func workerRestartOverHTTPAndSIGHUPReload() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let shopPID = try #require(try fixture.workerPID("shop"))
        let blogPID = try #require(try fixture.workerPID("blog"))
        #expect(try fixture.http("POST", "/v1/apps/shop/worker/restart", token: ListenerFixture.wafToken).status == 403)
        let restart = try fixture.http("POST", "/v1/apps/shop/worker/restart")
        #expect(restart.status == 200, "\(restart.body)")
        #expect(try eventually { try fixture.workerPID("shop").map { $0 != shopPID } ?? false })
        #expect(try fixture.workerPID("blog") == blogPID)
        #expect(!ChildProcess.isAlive(pid_t(shopPID)))
        let newShopPID = try #require(try fixture.workerPID("shop"))
        #expect(
            try eventually {
                (try fixture.appsStatus()["shop"]?["worker"] as? [String: Any])?["connected"] as? Bool == true
            })
        let shopConnects = (try fixture.appsStatus()["shop"]?["worker"] as? [String: Any])?["connects"] as? Int

        // SIGHUP: wiki added, blog removed, shop untouched (same process, same connection).
        try fixture.addApp("wiki", db: 3)
        try fixture.removeApp("blog")
        ChildProcess.signal(fixture.pid, SIGHUP)
        #expect(
            try eventually(timeout: 20) {
                let apps = try fixture.appsStatus()
                return apps["blog"] == nil && (apps["wiki"]?["worker"] as? [String: Any])?["connected"] as? Bool == true
            }, "\(fixture.log())")
        #expect(eventually { !ChildProcess.isAlive(pid_t(blogPID)) })
        #expect(try fixture.workerPID("shop") == newShopPID)
        #expect((try fixture.appsStatus()["shop"]?["worker"] as? [String: Any])?["connects"] as? Int == shopConnects)
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("wiki", id: "w-1")).status == 202)
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("blog", id: "b-1")).status == 404)
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("wiki") == 1 })
        #expect(fixture.terminate())
    }
}
