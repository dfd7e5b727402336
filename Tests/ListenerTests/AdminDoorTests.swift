import Foundation
import Shared
import TestSupport
import Testing

/// Issue 13 finding 3: the ingress port carries only `POST /v1/events` and `/healthz`; the page,
/// the status API, worker control, the audit trail and `/metrics` are on the admin door, open on
/// loopback and behind a `read` (or admin) token elsewhere. Finding 6: worker control and admin
/// messages are audited with the token's name, and WAF list adds are bounded per app.
@Suite(.serialized, .startsProcesses) struct AdminDoorTests {
    static let viewerToken = "viewer-token-0123456789"
    static let shopViewerToken = "shop-viewer-token-0123456789"
    static let extraTokens = """
          - { name: viewer, token: "\(viewerToken)", sources: [read], apps: ["*"] }
          - { name: shop-viewer, token: "\(shopViewerToken)", sources: [read], apps: [shop] }
        """

    static let reads = ["/v1/apps", "/v1/apps/shop", "/v1/situation", "/metrics", "/v1/audit", "/", "/situation.js"]

    @Test func theIngressPortAnswersOnlyEventsAndHealth() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        for path in Self.reads {
            #expect(try fixture.http("GET", path, token: nil, door: .ingress).status == 404, "ingress GET \(path)")
            #expect(try fixture.http("GET", path, token: nil, door: .admin).status == 200, "admin GET \(path)")
        }
        let pid = try fixture.workerPID("shop")
        #expect(try fixture.http("POST", "/v1/apps/shop/worker/restart", door: .ingress).status == 404)
        #expect(try fixture.workerPID("shop") == pid, "worker control is not on the ingress port")
        #expect(try fixture.http("GET", "/healthz", token: nil, door: .ingress).status == 200)
        // Senders keep their door: events are not taken on the admin door.
        let sent = try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "a1"), door: .admin)
        #expect(sent.status == 404)
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "a2")).status == 202)
    }

    @Test func awayFromLoopbackReadsNeedATokenWithTheReadScope() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"], adminHost: "0.0.0.0", extraTokens: Self.extraTokens)
        try fixture.start(apps: ["shop", "blog"])
        for path in Self.reads {
            let anonymous = try fixture.http("GET", path, token: nil)
            #expect(anonymous.status == 401, "GET \(path) without a token")
            #expect(try fixture.http("GET", path, token: ListenerFixture.wafToken).status == 403, "waf GET \(path)")
            #expect(try fixture.http("GET", path, token: Self.viewerToken).status == 200, "viewer GET \(path)")
            #expect(try fixture.http("GET", path, token: ListenerFixture.adminToken).status == 200, "admin GET \(path)")
        }
        // A browser answers the Basic challenge with the token as its password.
        let basic = try ChildProcess.runCapturing(
            executable: "/usr/bin/curl",
            arguments: [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "anyone:\(Self.viewerToken)",
                "http://127.0.0.1:\(fixture.adminPort)/v1/apps",
            ])
        #expect(basic.stdout == "200")
        let challenge = try ChildProcess.runCapturing(
            executable: "/usr/bin/curl",
            arguments: ["-s", "-D", "-", "-o", "/dev/null", "http://127.0.0.1:\(fixture.adminPort)/"])
        #expect(challenge.stdout.lowercased().contains("www-authenticate: basic"), "\(challenge.stdout)")
        // A token scoped to shop reads shop, not blog nor the fleet-wide views.
        #expect(try fixture.http("GET", "/v1/apps/shop", token: Self.shopViewerToken).status == 200)
        #expect(try fixture.http("GET", "/v1/situation?app=shop", token: Self.shopViewerToken).status == 200)
        #expect(try fixture.http("GET", "/v1/apps/blog", token: Self.shopViewerToken).status == 403)
        #expect(try fixture.http("GET", "/v1/apps", token: Self.shopViewerToken).status == 403)
        #expect(try fixture.http("GET", "/metrics", token: Self.shopViewerToken).status == 403)
        // Reading is not acting: a read token controls no worker and sends no message.
        let pid = try fixture.workerPID("shop")
        #expect(try fixture.http("POST", "/v1/apps/shop/worker/restart", token: Self.viewerToken).status == 403)
        #expect(try fixture.workerPID("shop") == pid)
        let asRead = try fixture.http(
            "POST", "/v1/events",
            body: "{\"id\":\"r1\",\"app\":\"shop\",\"source\":\"read\",\"type\":\"rotate\",\"body\":{}}",
            token: Self.viewerToken)
        #expect(asRead.status == 400, "\(asRead.body)")
        #expect(
            try fixture.http("POST", "/v1/events", body: Messages.rotate("shop", id: "r2"), token: Self.viewerToken)
                .status == 403)
    }

    @Test func workerControlAndAdminMessagesAreAuditedWithTheTokenName() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        #expect(
            try fixture.http("POST", "/v1/apps/shop/worker/restart", token: ListenerFixture.shopOnlyToken).status == 200
        )
        #expect(try eventually(timeout: 20) { try fixture.workerPID("shop") != nil })
        let setState =
            "{\"id\":\"op-7\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"set_state\",\"body\":{\"executor\":\"e1\",\"state\":\"offline\",\"reason\":\"patching\"}}"
        #expect(
            try fixture.http("POST", "/v1/events", body: setState, token: ListenerFixture.shopOnlyToken).status == 202)
        let tcp = try LineSocket(tcpPort: fixture.tcpPort)
        try tcp.sendLines(["{\"auth\":\"\(ListenerFixture.adminToken)\"}", Messages.rotate("shop", id: "op-8")])
        #expect(tcp.readJSON()?["ok"] as? String == "op-8")
        // Refused control and non-admin messages leave no entry.
        #expect(try fixture.http("POST", "/v1/apps/shop/worker/stop", token: ListenerFixture.wafToken).status == 403)
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "h1")).status == 202)

        let entries = try #require(try fixture.http("GET", "/v1/audit?app=shop").json["entries"] as? [[String: Any]])
        #expect(entries.map { $0["action"] as? String } == ["worker_restart", "set_state", "rotate"], "\(entries)")
        #expect(entries.map { $0["token"] as? String } == ["shop-ops", "shop-ops", "admin"])
        #expect(entries[1]["id"] as? String == "op-7")
        #expect(entries[1]["detail"] as? String == "e1 -> offline: patching")
        #expect((entries[0]["detail"] as? String)?.hasPrefix("state running pid ") == true, "\(entries[0])")
        // The same entries are on disk, one JSON object per line, for the site's log shipper.
        let lines = try String(contentsOfFile: fixture.journalDir + "/audit.log", encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.last?.contains("\"id\":\"op-8\"") == true)
        #expect(try fixture.http("GET", "/v1/audit?limit=5000").status == 400)
    }

    @Test func wafListAddsAreBoundedPerAppAndMinute() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"], maxMessageBytes: 4096)
        try fixture.start(apps: ["shop", "blog"])
        func adds(_ app: String, _ range: Range<Int>) -> String {
            "["
                + range.map {
                    "{\"id\":\"l\($0)\",\"app\":\"\(app)\",\"source\":\"waf\",\"type\":\"list\",\"body\":{\"list\":\"blacklist\",\"op\":\"add\",\"url\":\"/f/\($0)\"}}"
                }.joined(separator: ",") + "]"
        }
        let quota = 600
        #expect(
            try fixture.http("POST", "/v1/events", body: adds("shop", 0..<quota), token: ListenerFixture.wafToken)
                .status == 202)
        let over = try fixture.http(
            "POST", "/v1/events", body: adds("shop", quota..<(quota + 1)), token: ListenerFixture.wafToken)
        #expect(over.status == 429, "\(over.body)")
        #expect((over.json["error"] as? String)?.contains("at most 600 per app and minute") == true, "\(over.body)")
        let tcp = try LineSocket(tcpPort: fixture.tcpPort)
        try tcp.sendLines([
            "{\"auth\":\"\(ListenerFixture.wafToken)\"}", String(adds("shop", 700..<701).dropFirst().dropLast()),
        ])
        #expect(tcp.readJSON()?["code"] as? Int == 429)
        // Other apps have their own quota, and removals and operators are not limited.
        #expect(
            try fixture.http("POST", "/v1/events", body: adds("blog", 0..<10), token: ListenerFixture.wafToken).status
                == 202)
        let remove =
            "{\"id\":\"rm1\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"list\",\"body\":{\"list\":\"blacklist\",\"op\":\"remove\",\"url\":\"/f/1\"}}"
        #expect(try fixture.http("POST", "/v1/events", body: remove, token: ListenerFixture.wafToken).status == 202)
        let adminAdd =
            "{\"id\":\"ad1\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"list\",\"body\":{\"list\":\"blacklist\",\"op\":\"add\",\"url\":\"/ops\"}}"
        #expect(try fixture.http("POST", "/v1/events", body: adminAdd).status == 202)
        // What was accepted took effect: 600 adds, one remove, the operator's add.
        func members() throws -> String {
            try fixture.redis.cliRaw(["SCARD", "mimic:shop:list:blacklist"], db: fixture.db("shop")).first ?? ""
        }
        let settled = try eventually(timeout: 20) { try members() == "600" }
        let seen = (try? members()) ?? "?"
        let applied = (try? fixture.appliedSeq("shop")) ?? -1
        #expect(settled, "blacklist holds \(seen) entries; applied seq \(applied)")
    }
}
