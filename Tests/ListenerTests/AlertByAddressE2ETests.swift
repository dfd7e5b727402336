import Foundation
import Shared
import TestSupport
import Testing

/// Issue 13 finding 1 over real processes: a WAF alert that names an executor's `ip:port` and no
/// app reaches the app that owns the endpoint and ejects only that executor; a bare IP that
/// several executors share ejects nobody and is recorded as ambiguous.
@Suite(.serialized, .startsProcesses) struct AlertByAddressE2ETests {
    @Test func anAlertByEndpointHitsOnlyItsExecutorAndABareSharedIPNobody() throws {
        let fixture = try ListenerFixture(apps: ["shop", "blog"])
        try fixture.start(apps: ["shop", "blog"])
        func online(_ app: String) throws -> Set<String> {
            Set(try fixture.redis.cliRaw(["SMEMBERS", "mimic:\(app):state:online"], db: fixture.db(app)))
        }
        func endpoint(_ app: String, _ id: String) throws -> String {
            try fixture.redis.cliRaw(["HGET", "mimic:\(app):exec:\(id)", "endpoint"], db: fixture.db(app)).first ?? ""
        }
        let target = try #require(try online("shop").sorted().first)
        let address = try endpoint("shop", target)
        // The listener learns endpoints from the workers every second.
        let routed = try eventually(timeout: 10, interval: 0.2) {
            let reply = try fixture.http(
                "POST", "/v1/events",
                body:
                    #"{"id":"waf-by-endpoint","source":"waf","type":"alert","body":{"address":"\#(address)","severity":"critical","rule":"942100"}}"#,
                token: ListenerFixture.wafToken)
            return reply.status == 202
        }
        #expect(routed, "an alert naming \(address) and no app is routed to shop")
        let ejected = try eventually(timeout: 10) { try !online("shop").contains(target) }
        #expect(ejected)
        let moved = try fixture.events("shop").filter { $0["cause"] == "waf-by-endpoint" && $0["from"] != nil }
        #expect(
            Set(moved.filter { $0["to"] == "dirty" || $0["to"] == "cleaning" }.compactMap { $0["executor"] }) == [
                target
            ])
        #expect(try fixture.events("blog").allSatisfy { $0["cause"] != "waf-by-endpoint" })

        // Every executor of the stand-in hooks listens on 127.0.0.1: the bare IP names none.
        let before = try online("shop")
        let bare = try fixture.http(
            "POST", "/v1/events",
            body:
                #"{"id":"waf-bare-ip","app":"shop","source":"waf","type":"alert","body":{"address":"127.0.0.1","severity":"critical"}}"#,
            token: ListenerFixture.wafToken)
        #expect(bare.status == 202)
        let noted = try eventually(timeout: 10) {
            try fixture.events("shop").contains {
                $0["cause"] == "waf-bare-ip" && ($0["reason"] ?? "").contains("ambiguous")
            }
        }
        #expect(noted, "the ambiguous alert is recorded as an event naming the candidates")
        #expect(try online("shop") == before)
        #expect(
            try fixture.events("shop").filter { $0["cause"] == "waf-bare-ip" && $0["to"] != nil && $0["to"] != "" }
                .isEmpty)
        #expect(fixture.terminate())
    }
}
