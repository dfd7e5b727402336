import Foundation
import TestSupport
import Testing

/// `GET /v1/situation`: the listener's view joined with each worker's socket answers, checked
/// against Redis, and what it says when a worker does not answer.
@Suite(.serialized, .startsProcesses) struct SituationReportTests {
    private func situation(_ fixture: ListenerFixture, query: String = "") throws -> (
        status: Int, apps: [String: [String: Any]]
    ) {
        let reply = try fixture.http("GET", "/v1/situation" + query, token: nil)
        var apps: [String: [String: Any]] = [:]
        for app in reply.json["apps"] as? [[String: Any]] ?? [] { apps[app["app"] as! String] = app }
        return (reply.status, apps)
    }

    @Test func executorsHostsAndEventsMatchRedis() throws {
        let probe = try ProbeTarget()
        let fixture = try ListenerFixture(apps: ["shop", "blog"], probePorts: ["shop": probe.port])
        try fixture.start(apps: ["shop", "blog"])
        let shopDB = fixture.db("shop")
        #expect(
            try eventually(timeout: 20) {
                try fixture.redis.cliRaw(["SCARD", "mimic:shop:state:online"], db: shopDB) == ["1"]
            })
        #expect(
            try eventually(timeout: 20) {
                try fixture.redis.cliRaw(["HGET", "mimic:shop:host:local-shop", "status"], db: shopDB) == ["up"]
            })
        let online = try fixture.redis.cliRaw(["SMEMBERS", "mimic:shop:state:online"], db: shopDB)

        let (status, apps) = try situation(fixture)
        #expect(status == 200)
        #expect(Set(apps.keys) == ["shop", "blog"])
        let shop = try #require(apps["shop"])
        #expect(shop["scheduler_error"] == nil, "\(shop)")
        let executors = shop["executors"] as? [[String: Any]] ?? []
        #expect(executors.filter { $0["state"] as? String == "online" }.compactMap { $0["id"] as? String } == online)
        for executor in executors {
            let id = executor["id"] as! String
            let hash = try fixture.redis.cliRaw(["HGET", "mimic:shop:exec:\(id)", "state"], db: shopDB)
            #expect(hash == [executor["state"] as! String], "executor \(id) as Redis has it")
            #expect(executor["host"] as? String == "local-shop")
        }
        let scheduler = try #require(shop["scheduler"] as? [String: Any])
        #expect(scheduler["hosts"] as? [String: String] == ["local-shop": "up"])
        #expect(scheduler["redis"] as? String == "up")
        // The timeline: the newest events the stream holds, oldest first, as the stream has them.
        // (Polled: an executor that finishes starting in between adds an event.)
        #expect(
            try eventually(timeout: 10) {
                let events = try situation(fixture).apps["shop"]?["events"] as? [[String: String]] ?? []
                let stream = try fixture.events("shop")
                return !events.isEmpty && events == Array(stream.suffix(events.count))
            })
        #expect(
            try eventually(timeout: 10) {
                let few = try situation(fixture, query: "?events=2").apps["shop"]?["events"] as? [[String: String]]
                let stream = try fixture.events("shop")
                return few == Array(stream.suffix(2))
            }, "events=N keeps the newest N")
        #expect(try fixture.http("GET", "/v1/situation?events=-1", token: nil).status == 400)
        #expect(try fixture.http("GET", "/v1/situation?events=many", token: nil).status == 400)

        let only = try situation(fixture, query: "?app=blog")
        #expect(Set(only.apps.keys) == ["blog"])
        #expect(try fixture.http("GET", "/v1/situation?app=nope", token: nil).status == 404)

        // A host that stops answering its probe shows as down, with a host event on the timeline.
        probe.kill()
        #expect(
            try eventually(timeout: 20) {
                let shop = try situation(fixture).apps["shop"] ?? [:]
                let hosts = (shop["scheduler"] as? [String: Any])?["hosts"] as? [String: String]
                let events = shop["events"] as? [[String: String]] ?? []
                return hosts == ["local-shop": "down"]
                    && events.contains { $0["kind"] == "host" && $0["host"] == "local-shop" && $0["to"] == "down" }
            })
        #expect(try fixture.redis.cliRaw(["HGET", "mimic:shop:host:local-shop", "status"], db: shopDB) == ["down"])
    }

    /// Issue 12 item 0: the release listener died (or answered `"apps": []`) on the first poll, because
    /// the optimizer miscompiled the task group that asks the workers in parallel. Polled as the page
    /// does, with one app answered and one whose worker is gone (both of the group's paths).
    @Test func repeatedPollsAnswerEveryAppAndTheListenerLives() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let stopped = try fixture.http("POST", "/v1/apps/blog/worker/stop")
        #expect(stopped.status == 200, "\(stopped.body)")
        for poll in 0..<20 {
            let (status, apps) = try situation(fixture)
            #expect(status == 200)
            #expect(Set(apps.keys) == ["shop", "blog"], "poll \(poll): \(apps.keys.sorted())")
            #expect(apps["shop"]?["scheduler_error"] == nil, "poll \(poll): \(apps["shop"] ?? [:])")
            #expect((apps["blog"]?["scheduler_error"] as? String)?.contains("blog.sock") == true)
            try #require(ChildProcess.isAlive(fixture.pid), "listener died on poll \(poll): \(fixture.log())")
        }
        let reply = try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "after-polls-1"))
        #expect(reply.status == 202, "ingress still answers: \(reply.body)")
    }

    @Test func aWorkerThatDoesNotAnswerCostsOneTimeoutAndIsNamed() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let pid = try #require(try fixture.workerPID("shop"))
        ChildProcess.signal(pid_t(pid), SIGSTOP)
        defer { ChildProcess.signal(pid_t(pid), SIGCONT) }
        let started = Date()
        let (status, apps) = try situation(fixture)
        let elapsed = Date().timeIntervalSince(started)
        #expect(status == 200)
        #expect(elapsed < 5, "one stopped worker must not hold the page: \(elapsed) s")
        let shopError = apps["shop"]?["scheduler_error"] as? String ?? ""
        #expect(shopError.contains("shop.sock") && shopError.contains("no answer"), "\(shopError)")
        #expect(apps["shop"]?["scheduler"] is NSNull)
        #expect(apps["blog"]?["scheduler_error"] == nil, "the other app is answered: \(apps["blog"] ?? [:])")
        #expect((apps["blog"]?["executors"] as? [Any])?.isEmpty == false)
    }

    @Test func withoutItsPageFilesTheListenerStillServesEverythingElse() throws {
        // A binary without the resource folder beside it, as when only the executable is copied.
        // A hard link, not a symlink: the listener looks beside the path it was started from.
        let directory = try TempDirectory.make(prefix: "mimic-bare-listener")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bare = directory.appendingPathComponent("mimic-listener").path
        let built = try BuiltProducts.path("mimic-listener")
        if link(built, bare) != 0 { try FileManager.default.copyItem(atPath: built, toPath: bare) }
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"], executable: bare)
        #expect(try fixture.http("GET", "/", token: nil).status == 404)
        #expect(try fixture.http("GET", "/v1/apps", token: nil).status == 200)
        #expect(try situation(fixture).apps["shop"]?["scheduler_error"] == nil)
        let reply = try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "bare-1"))
        #expect(reply.status == 202, "\(reply.body)")
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 1 })
    }

    @Test func theBuiltListenerServesThePageAndItsFiles() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let page = try fixture.http("GET", "/", token: nil)
        #expect(page.status == 200 && page.body.contains("situation.js"))
        #expect(try fixture.http("GET", "/situation.js", token: nil).body.contains("/v1/situation"))
        #expect(try fixture.http("GET", "/situation.css", token: nil).status == 200)
        #expect(try fixture.http("GET", "/nope.html", token: nil).status == 404)
    }
}
