import Foundation
import Shared
import Testing

@testable import Listener

@Suite struct IntakeTests {
    let app = AppConfig(
        app: "shop", redis: .init(db: 1), replicas: .init(online: 1, standby: 0, minOnline: 1, retainDirty: 0),
        variants: [.init(name: "v", traits: [:])],
        hosts: [.init(name: "n1", address: "10.0.0.11", driver: .command)], scheduling: .init())
    let blog = AppConfig(
        app: "blog", redis: .init(db: 2), replicas: .init(online: 1, standby: 0, minOnline: 1, retainDirty: 0),
        variants: [.init(name: "v", traits: [:])],
        hosts: [
            .init(name: "n2", address: "10.0.0.12", driver: .command),
            .init(name: "n3", address: "10.0.0.99", driver: .command),
        ], scheduling: .init())
    var shared: AppConfig {
        var copy = app
        copy.app = "wiki"
        copy.hosts = [.init(name: "x", address: "10.0.0.99", driver: .command)]
        return copy
    }

    var intake: EnvelopeIntake {
        EnvelopeIntake(
            maxMessageBytes: 300,
            authorizer: Authorizer(tokens: [
                .init(name: "waf", token: "t", sources: ["waf"], apps: ["*"]),
                .init(name: "ops", token: "o", sources: ["admin"], apps: ["shop"]),
            ]),
            directory: AppDirectory(apps: [app, blog, shared]))
    }

    func admit(_ text: String, token: Int = 0) -> Result<IntakeMessage, IntakeRejection> {
        intake.admit(Array(text.utf8), token: token)
    }

    func status(_ text: String, token: Int = 0) -> Int? {
        if case .failure(let rejection) = admit(text, token: token) { return rejection.status }
        return nil
    }

    @Test func acceptsAndKeepsBytesOnOneLine() throws {
        let text =
            "{\"id\":\"a1\",\"app\":\"shop\",\n\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"executor\":\"e1\",\"severity\":\"high\"}}"
        let message = try admit(text).get()
        #expect(message.app == "shop" && message.id == "a1")
        #expect(!message.entry.envelope.contains(0x0A))
        #expect(message.entry.key == "waf\u{1F}a1")
    }

    @Test func routesAlertsByAddress() throws {
        let message = try admit(
            "{\"id\":\"a2\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"address\":\"10.0.0.12\",\"severity\":\"high\"}}"
        ).get()
        #expect(message.app == "blog")
        #expect(String(decoding: message.entry.envelope, as: UTF8.self).contains("\"app\":\"blog\""))
        #expect(
            status(
                "{\"id\":\"a3\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"address\":\"10.9.9.9\",\"severity\":\"high\"}}"
            ) == 404)
        #expect(
            status(
                "{\"id\":\"a4\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"address\":\"10.0.0.99\",\"severity\":\"high\"}}"
            ) == 400)
    }

    /// Issue 13 finding 1: WAFs name the upstream as `ip:port`. It routes by its address part,
    /// and on an address several apps share, to the app whose worker reports that endpoint.
    @Test func routesAlertsByEndpoint() throws {
        func alert(_ address: String) -> String {
            "{\"id\":\"a\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"address\":\"\(address)\",\"severity\":\"high\"}}"
        }
        #expect(try admit(alert("10.0.0.12:32768")).get().app == "blog")
        #expect(status(alert("10.0.0.99:32768")) == 400, "blog and wiki share 10.0.0.99; no worker said whose it is")
        let owners = EndpointOwners()
        owners.update(
            app: "wiki",
            executors: [
                Executor(
                    id: "e1", variant: "v", host: "x", endpoint: "10.0.0.99:32768", state: .online, since: 0, reason: ""
                ),
                Executor(
                    id: "e2", variant: "v", host: "x", endpoint: "10.0.0.99:32769", state: .offline, since: 0,
                    reason: ""),
            ])
        var routed = intake
        routed.owners = owners
        #expect(try routed.admit(Array(alert("10.0.0.99:32768").utf8), token: 0).get().app == "wiki")
        #expect(
            (try? routed.admit(Array(alert("10.0.0.99:32769").utf8), token: 0).get()) == nil,
            "an offline executor's endpoint is nobody's")
        #expect((try? routed.admit(Array(alert("10.0.0.99").utf8), token: 0).get()) == nil, "a bare IP stays ambiguous")
    }

    @Test func rejectsWithTheRightStatus() {
        #expect(status("{\"id\":") == 400)
        #expect(status("[1]") == 400)
        #expect(status("{\"app\":\"shop\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{}}") == 400)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"nobody\",\"type\":\"alert\",\"body\":{}}") == 400)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"rotate\",\"body\":{}}") == 400)
        #expect(
            status(
                "{\"id\":\"x\",\"app\":\"nope\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"executor\":\"e\",\"severity\":\"low\"}}"
            ) == 404)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}") == 403)
        #expect(
            status("{\"id\":\"x\",\"app\":\"blog\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}", token: 1)
                == 403)
        #expect(
            status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}", token: 1)
                == nil)
        #expect(
            status(
                "{\"id\":\"x\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"executor\":\"\(String(repeating: "e", count: 300))\",\"severity\":\"low\"}}"
            ) == 413)
        if case .failure(let rejection) = admit("{\"app\":\"shop\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{}}")
        {
            #expect(rejection.message == "id: required")
        }
    }

    @Test func splitsArraysIntoElementBytes() {
        let text = Array(" [ {\"a\":\"x,]}\"} , {\"b\":[1,2]}\n] ".utf8)
        let ranges = JSONArraySplitter.elements(text)!
        #expect(ranges.map { String(decoding: text[$0], as: UTF8.self) } == ["{\"a\":\"x,]}\"}", "{\"b\":[1,2]}"])
        #expect(JSONArraySplitter.elements(Array("[]".utf8))! == [])
        #expect(JSONArraySplitter.elements(Array("[{}".utf8)) == nil)
        #expect(JSONArraySplitter.elements(Array("[{},]".utf8)) == nil)
        #expect(JSONArraySplitter.elements(Array("[{}] x".utf8)) == nil)
    }
}
