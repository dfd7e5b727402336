import Foundation
import Shared
import TestSupport
import Testing

/// Issue 18 item 5: `mimicctl why <app> <executor>` against a real listener supervising a real
/// worker, after real messages moved the executor: the answer names the event, the message behind
/// it and the policy memory that counted.
@Suite(.serialized, .startsProcesses) struct WhyCommandTests {
    private func mimicctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.runCapturing(executable: try BuiltProducts.path("mimicctl"), arguments: arguments)
    }

    private func why(_ fixture: ListenerFixture, _ executor: String) throws -> ExecutorWhy {
        let result = try mimicctl(["why", "shop", executor, "--config", fixture.configPath, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(ExecutorWhy.self, from: Data(result.stdout.utf8))
    }

    private static func arbitration(id: String, url: String, executors: [String], dissenters: [String]) -> String {
        let list = { (ids: [String]) in ids.map { "\"\($0)\"" }.joined(separator: ",") }
        return
            "{\"id\":\"\(id)\",\"app\":\"shop\",\"source\":\"right_bracket\",\"type\":\"arbitration\",\"body\":{\"request_id\":\"r-\(id)\",\"url\":\"\(url)\",\"method\":\"GET\",\"executors\":[\(list(executors))],\"dissenters\":[\(list(dissenters))]}}"
    }

    @Test func whyNamesTheEventsTheirMessagesAndThePolicyMemory() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        var online: String?
        _ = try eventually(timeout: 20, interval: 0.2) {
            let situation = try fixture.http("GET", "/v1/situation?app=shop").json
            let executors = ((situation["apps"] as? [[String: Any]])?.first?["executors"] as? [[String: Any]]) ?? []
            online = executors.first { $0["state"] as? String == "online" }?["id"] as? String
            // A standby ready to take over, so the ejection below is a transition, not a flag.
            return online != nil && executors.contains { $0["state"] as? String == "standby" }
        }
        let id = try #require(online, "no executor came online: \(fixture.log())")

        // Half the executors dissenting is no majority: the URL is suspected, the dissent forgiven.
        let forgiven = Self.arbitration(id: "arb-1", url: "/login", executors: [id, "zz-1"], dissenters: [id])
        // Against a majority the dissent counts.
        let counted = Self.arbitration(
            id: "arb-2", url: "/search", executors: [id, "zz-1", "zz-2"], dissenters: [id])
        for message in [forgiven, counted] {
            #expect(try fixture.http("POST", "/v1/events", body: message).status == 202)
        }
        #expect(
            try eventually(timeout: 15, interval: 0.2) {
                try self.why(fixture, id).policy.dissents.count == 1
            })
        let before = try why(fixture, id)
        #expect(before.executor.state == .online)
        #expect(before.policy.dissentThreshold >= 2)
        #expect(before.policy.variantTrust < 1, "a counted dissent lowers the variant's trust")
        #expect(before.policy.suspectedURLs.contains { $0.url == "/login" && $0.cause == "arb-1" })

        let alert =
            "{\"id\":\"waf-crit-1\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"executor\":\"\(id)\",\"rule\":\"942100\",\"severity\":\"critical\",\"url\":\"/x\",\"client_ip\":\"1.2.3.4\"}}"
        #expect(try fixture.http("POST", "/v1/events", body: alert, token: ListenerFixture.wafToken).status == 202)
        var after: ExecutorWhy?
        #expect(
            try eventually(timeout: 15, interval: 0.2) {
                after = try self.why(fixture, id)
                return after?.events.contains { $0.cause == "waf-crit-1" } == true
            })
        let chain = try #require(after)
        #expect(chain.executor.state != .online)
        let moved = try #require(chain.events.last { $0.cause == "waf-crit-1" && $0.executor == id })
        #expect(moved.kind == "transition" && moved.from == "online")
        #expect(moved.reason.contains("critical"), "\(moved.reason)")
        #expect(moved.message?.id == "waf-crit-1")
        #expect(moved.message?.source == .waf)
        // Newest last.
        #expect(chain.events.map(\.time) == chain.events.map(\.time).sorted())

        // The human chain names the same, and the door serves the same answer to the page.
        let text = try mimicctl(["why", "shop", id, "--config", fixture.configPath])
        #expect(text.status == 0)
        #expect(
            text.stdout.contains("cause waf-crit-1") && text.stdout.contains("suspected URL /login"), "\(text.stdout)")
        let door = try fixture.http("GET", "/v1/apps/shop/executors/\(id)/why")
        #expect(door.status == 200)
        #expect((door.json["executor"] as? [String: Any])?["id"] as? String == id)

        let unknown = try mimicctl(["why", "shop", "e999", "--config", fixture.configPath])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("e999"), "\(unknown.stderr)")
        let noApp = try mimicctl(["why", "nosuch", id, "--config", fixture.configPath])
        #expect(noApp.status != 0)
        #expect(noApp.stderr.contains("nosuch"), "\(noApp.stderr)")
    }
}
