import Foundation
import TestSupport
import Testing

/// Issue 19 item 5 through the listener: an executor the WAF flags goes dirty, its worker keeps its
/// evidence (here through an `inspect` hook), the situation report names the manifest for the
/// page's mark, and `GET /v1/apps/{app}/forensics/{executor}` serves the manifest and changes.
@Suite(.serialized, .startsProcesses) struct ForensicsRouteTests {
    @Test func theEvidenceOfADirtyExecutorIsNamedAndServed() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        let inspect = fixture.hooksDir + "/inspect.sh"
        try """
        #!/bin/sh
        echo '[{"Path":"/tmp","Kind":0},{"Path":"/tmp/implant.sh","Kind":1}]' > "$2/changes.json"

        """.write(toFile: inspect, atomically: true, encoding: .utf8)
        chmod(inspect, 0o755)
        let appFile = fixture.appsDir + "/shop.yaml"
        let yaml = try String(contentsOfFile: appFile, encoding: .utf8)
            .replacingOccurrences(of: "retain_dirty: 0", with: "retain_dirty: 1")
            .replacingOccurrences(
                of: "\"{app}\", \"{host}\"]\n",
                with: "\"{app}\", \"{host}\"]\n      inspect: [\"\(inspect)\", \"{executor}\", \"{dir}\"]\n")
        try yaml.write(toFile: appFile, atomically: true, encoding: .utf8)
        try fixture.start(apps: ["shop"])
        let db = fixture.db("shop")
        #expect(
            try eventually(timeout: 20) {
                try fixture.redis.cliRaw(["SCARD", "mimic:shop:state:standby"], db: db) == ["1"]
            }, "\(fixture.log())")
        let online = try #require(try fixture.redis.cliRaw(["SMEMBERS", "mimic:shop:state:online"], db: db).first)

        let alert = """
            {"id":"waf-forensics-1","app":"shop","source":"waf","type":"alert","body":{"executor":"\(online)","rule":"942100","severity":"critical","url":"/x","client_ip":"1.2.3.4"}}
            """
        #expect(try fixture.http("POST", "/v1/events", body: alert).status == 202)
        var manifestPath = ""
        #expect(
            try eventually(timeout: 20) {
                let reply = try fixture.http("GET", "/v1/situation", token: nil)
                let apps = reply.json["apps"] as? [[String: Any]] ?? []
                manifestPath = (apps.first?["evidence"] as? [String: String])?[online] ?? ""
                return !manifestPath.isEmpty
            }, "the situation names the manifest; \(fixture.log())")
        #expect(manifestPath.contains("/run/forensics/shop/\(online)/") && manifestPath.hasSuffix("/manifest.json"))

        let served = try fixture.http("GET", "/v1/apps/shop/forensics/\(online)", token: nil)
        #expect(served.status == 200, "\(served.body)")
        #expect(served.json["manifest_path"] as? String == manifestPath)
        let manifest = try #require(served.json["manifest"] as? [String: Any])
        #expect(manifest["status"] as? String == "complete", "\(manifest)")
        #expect(manifest["cause"] as? String == "waf-forensics-1")
        #expect(manifest["driver"] as? String == "command")
        let changes = served.json["changes"] as? [[String: Any]] ?? []
        #expect(changes.contains { $0["Path"] as? String == "/tmp/implant.sh" && $0["Kind"] as? Int == 1 })
        #expect(served.json["changes_total"] as? Int == 2)

        #expect(try fixture.http("GET", "/v1/apps/shop/forensics/e999", token: nil).status == 404)
        #expect(try fixture.http("GET", "/v1/apps/shop/forensics/BAD", token: nil).status == 400)
        #expect(try fixture.http("GET", "/v1/apps/nope/forensics/e1", token: nil).status == 404)
    }
}
