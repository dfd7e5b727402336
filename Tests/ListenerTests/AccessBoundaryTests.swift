import Foundation
import Shared
import TestSupport
import Testing

/// Who may act where (issue 8): token scopes by source and app, admin-only worker control,
/// hashed tokens, socket and run-dir modes, and no secret in the logs.
@Suite(.serialized, .startsProcesses) struct AccessBoundaryTests {
    static func setState(_ app: String, id: String) -> String {
        "{\"id\":\"\(id)\",\"app\":\"\(app)\",\"source\":\"admin\",\"type\":\"set_state\",\"body\":{\"executor\":\"e1\",\"state\":\"offline\"}}"
    }

    static func wafList(_ app: String, id: String) -> String {
        "{\"id\":\"\(id)\",\"app\":\"\(app)\",\"source\":\"waf\",\"type\":\"list\",\"body\":{\"list\":\"blacklist\",\"op\":\"add\",\"url\":\"/x\"}}"
    }

    @Test func tokensStayInsideTheirScope() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let shopPID = try #require(try fixture.workerPID("shop"))

        // A waf token cannot send admin messages, over HTTP or TCP, alone or hidden in an array.
        let wafAdmin = try fixture.http(
            "POST", "/v1/events", body: Messages.rotate("shop", id: "w1"), token: ListenerFixture.wafToken)
        #expect(wafAdmin.status == 403)
        let hidden = try fixture.http(
            "POST", "/v1/events",
            body: "[" + Self.wafList("shop", id: "w2") + "," + Self.setState("shop", id: "w3") + "]",
            token: ListenerFixture.wafToken)
        #expect(hidden.status == 403 && hidden.json["index"] as? Int == 1)
        let tcp = try LineSocket(tcpPort: fixture.tcpPort)
        try tcp.sendLines(["{\"auth\":\"\(ListenerFixture.wafToken)\"}", Messages.rotate("blog", id: "w4")])
        #expect(tcp.readJSON()?["code"] as? Int == 403)
        // ... nor restart, stop or start a worker.
        for action in ["restart", "stop", "start"] {
            #expect(
                try fixture.http("POST", "/v1/apps/shop/worker/\(action)", token: ListenerFixture.wafToken).status
                    == 403)
        }
        #expect(try fixture.http("POST", "/v1/apps/shop/worker/restart", token: nil).status == 401)
        #expect(try fixture.http("POST", "/v1/apps/shop/worker/restart", token: "made-up-token-00000000").status == 401)
        #expect(try fixture.workerPID("shop") == shopPID)

        // A token scoped to shop cannot touch blog: neither messages nor its worker.
        #expect(
            try fixture.http(
                "POST", "/v1/events", body: Messages.rotate("blog", id: "s1"), token: ListenerFixture.shopOnlyToken
            ).status == 403)
        let blogPID = try #require(try fixture.workerPID("blog"))
        #expect(
            try fixture.http("POST", "/v1/apps/blog/worker/restart", token: ListenerFixture.shopOnlyToken).status == 403
        )
        #expect(try fixture.workerPID("blog") == blogPID)
        // But it may act on shop.
        #expect(
            try fixture.http(
                "POST", "/v1/events", body: Messages.rotate("shop", id: "s3"), token: ListenerFixture.shopOnlyToken
            ).status == 202)

        // Nothing refused took effect: only s3 on shop, nothing on blog.
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 1 })
        #expect(try fixture.appliedSeq("blog") == 0)
    }

    @Test func hashedTokensAuthenticateAndKeepTheirScope() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        let token = ListenerFixture.hashedToken
        #expect(
            try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "h1"), token: token).status == 202)
        // The digest itself is not a token.
        #expect(
            try fixture.http(
                "POST", "/v1/events", body: Messages.health("shop", id: "h2"), token: ListenerFixture.hashedTokenSHA256
            ).status == 401)
        #expect(
            try fixture.http("POST", "/v1/events", body: Messages.health("blog", id: "h3"), token: token).status == 403)
        #expect(
            try fixture.http("POST", "/v1/events", body: Messages.rotate("shop", id: "h4"), token: token).status == 403)
        let tcp = try LineSocket(tcpPort: fixture.tcpPort)
        try tcp.sendLines(["{\"auth\":\"\(token)\"}", Messages.health("shop", id: "h5")])
        #expect(tcp.readJSON()?["ok"] as? String == "h5")
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 2 })
    }

    @Test func socketsAndRunDirAreClosedToOthers() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        var info = stat()
        #expect(stat(fixture.runDir, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o750, "run dir mode \(String(info.st_mode & 0o777, radix: 8))")
        #expect(stat(fixture.runDir + "/shop.sock", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660, "socket mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test func secretsNeverReachTheLogs() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        // Exercise every path that handles a token: good, unknown, wrong scope, TCP auth, worker control.
        for token in ListenerFixture.allTokens + ["wrong-token-but-secret-000"] {
            _ = try fixture.http(
                "POST", "/v1/events", body: Messages.rotate("shop", id: "l-\(token.prefix(4))"), token: token)
            _ = try fixture.http("POST", "/v1/apps/shop/worker/restart", token: token)
            let tcp = try LineSocket(tcpPort: fixture.tcpPort)
            try tcp.sendLines(["{\"auth\":\"\(token)\"}", Messages.health("shop", id: "t-\(token.prefix(4))")])
            _ = tcp.readJSON(timeout: 5)
        }
        // The listener writes its log and the supervised workers' logs to the same file.
        #expect(try eventually(timeout: 20) { try fixture.workerPID("shop") != nil })
        _ = fixture.terminate()
        let log = fixture.log()
        #expect(!log.isEmpty)
        for secret in ListenerFixture.allTokens + ["wrong-token-but-secret-000"] {
            #expect(!log.contains(secret), "the log contains the token \(secret)")
        }
    }
}
