import Foundation
import NIOCore
import Shared
import Testing
@testable import Listener

@Suite struct AuthorizerTests {
    let authorizer = Authorizer(tokens: [
        .init(name: "waf-1", token: "waf-secret", sources: ["waf"], apps: ["*"]),
        .init(name: "ops", token: "ops-secret", sources: ["admin"], apps: ["shop"]),
        .init(name: "all", token: "root", sources: ["*"], apps: ["*"]),
    ])

    @Test func identifiesTokens() {
        #expect(authorizer.identify(nil) == .missing)
        #expect(authorizer.identify("") == .missing)
        #expect(authorizer.identify("waf-secre") == .unknown)
        #expect(authorizer.identify("waf-secret!") == .unknown)
        #expect(authorizer.identify("waf-secret") == .known(0))
        #expect(authorizer.identify("root") == .known(2))
        #expect(Authorizer.bearerToken("Bearer abc") == "abc")
        #expect(Authorizer.bearerToken("bearer  abc ") == "abc")
        #expect(Authorizer.bearerToken("Basic abc") == nil)
    }

    @Test func scopesBySourceAndApp() {
        #expect(authorizer.decide(token: 0, source: "waf", app: "blog") == .allowed)
        #expect(authorizer.decide(token: 0, source: "admin", app: "blog") == .forbidden("token 'waf-1' may not send as source 'admin'"))
        #expect(authorizer.decide(token: 1, source: "admin", app: "shop") == .allowed)
        #expect(authorizer.decide(token: 1, source: "admin", app: "blog") == .forbidden("token 'ops' may not send to app 'blog'"))
        #expect(authorizer.isAdmin(token: 1, app: "shop"))
        #expect(!authorizer.isAdmin(token: 0, app: "shop"))
        #expect(authorizer.decide(token: 2, source: "firewall", app: "x") == .allowed)
    }

    @Test func constantTimeEquality() {
        #expect(Authorizer.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!Authorizer.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!Authorizer.constantTimeEqual(Array("abc".utf8), Array("abc\u{0}".utf8)))
    }
}

@Suite struct RestartPolicyTests {
    @Test func backsOffExponentiallyWithJitterAndCap() {
        var policy = RestartPolicy()
        #expect(policy.exited(uptime: .seconds(1), draw: 0) == .milliseconds(200))
        #expect(policy.exited(uptime: .seconds(1), draw: 0) == .milliseconds(400))
        #expect(policy.exited(uptime: .seconds(1), draw: 1) == .milliseconds(400))
        for _ in 0..<20 { _ = policy.exited(uptime: .zero, draw: 0) }
        #expect(policy.exited(uptime: .zero, draw: 0) == .seconds(30))
        #expect(policy.isCrashLooping(currentUptime: nil))
        #expect(policy.isCrashLooping(currentUptime: .seconds(5)))
        #expect(!policy.isCrashLooping(currentUptime: .seconds(61)))
    }

    @Test func stableRunForgivesAndCrashLoopNeedsRepeatedFailures() {
        var policy = RestartPolicy()
        for _ in 0..<4 { _ = policy.exited(uptime: .seconds(2), draw: 0) }
        #expect(!policy.isCrashLooping(currentUptime: nil))
        _ = policy.exited(uptime: .seconds(2), draw: 0)
        #expect(policy.isCrashLooping(currentUptime: nil))
        #expect(policy.exited(uptime: .seconds(61), draw: 0) == .milliseconds(200))
        #expect(!policy.isCrashLooping(currentUptime: nil))
        policy.reset()
        #expect(policy.quickFailures == 0)
    }
}

@Suite struct ForwardingTests {
    @Test func cursorReplaysFromAckAndRespectsWindow() {
        var cursor = ForwardCursor(acked: 10, window: 5)
        #expect(cursor.nextToSend == 11 && cursor.room == 5)
        cursor.sent(through: 15)
        #expect(cursor.room == 0)
        #expect(cursor.acknowledged(12) == 12)
        #expect(cursor.acknowledged(11) == nil)
        #expect(cursor.room == 2)
        cursor.connected(acked: 12)
        #expect(cursor.nextToSend == 13)
        #expect(cursor.acknowledged(20) == 20)
        #expect(cursor.nextToSend == 21)
    }

    @Test func parsesAcks() {
        #expect(WorkerLink.parseAck(ByteBuffer(string: "{\"ack\":123}")) == 123)
        #expect(WorkerLink.parseAck(ByteBuffer(string: "{\"ack\": 7 }")) == 7)
        #expect(WorkerLink.parseAck(ByteBuffer(string: "{\"error\":\"bad\",\"seq\":3}")) == nil)
    }
}

@Suite struct IntakeTests {
    let app = AppConfig(app: "shop", redis: .init(db: 1), replicas: .init(online: 1, standby: 0, minOnline: 1, retainDirty: 0),
                        variants: [.init(name: "v", traits: [:])],
                        hosts: [.init(name: "n1", address: "10.0.0.11", driver: .command)], scheduling: .init())
    let blog = AppConfig(app: "blog", redis: .init(db: 2), replicas: .init(online: 1, standby: 0, minOnline: 1, retainDirty: 0),
                         variants: [.init(name: "v", traits: [:])],
                         hosts: [.init(name: "n2", address: "10.0.0.12", driver: .command),
                                 .init(name: "n3", address: "10.0.0.99", driver: .command)], scheduling: .init())
    var shared: AppConfig {
        var copy = app
        copy.app = "wiki"
        copy.hosts = [.init(name: "x", address: "10.0.0.99", driver: .command)]
        return copy
    }

    var intake: EnvelopeIntake {
        EnvelopeIntake(maxMessageBytes: 300,
                       authorizer: Authorizer(tokens: [.init(name: "waf", token: "t", sources: ["waf"], apps: ["*"]),
                                                       .init(name: "ops", token: "o", sources: ["admin"], apps: ["shop"])]),
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
        let text = "{\"id\":\"a1\",\"app\":\"shop\",\n\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"executor\":\"e1\",\"severity\":\"high\"}}"
        let message = try admit(text).get()
        #expect(message.app == "shop" && message.id == "a1")
        #expect(!message.entry.envelope.contains(0x0A))
        #expect(message.entry.key == "waf\u{1F}a1")
    }

    @Test func routesAlertsByAddress() throws {
        let message = try admit("{\"id\":\"a2\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"address\":\"10.0.0.12\",\"severity\":\"high\"}}").get()
        #expect(message.app == "blog")
        #expect(String(decoding: message.entry.envelope, as: UTF8.self).contains("\"app\":\"blog\""))
        #expect(status("{\"id\":\"a3\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"address\":\"10.9.9.9\",\"severity\":\"high\"}}") == 404)
        #expect(status("{\"id\":\"a4\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"address\":\"10.0.0.99\",\"severity\":\"high\"}}") == 400)
    }

    @Test func rejectsWithTheRightStatus() {
        #expect(status("{\"id\":") == 400)
        #expect(status("[1]") == 400)
        #expect(status("{\"app\":\"shop\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{}}") == 400)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"nobody\",\"type\":\"alert\",\"body\":{}}") == 400)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"rotate\",\"body\":{}}") == 400)
        #expect(status("{\"id\":\"x\",\"app\":\"nope\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"executor\":\"e\",\"severity\":\"low\"}}") == 404)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}") == 403)
        #expect(status("{\"id\":\"x\",\"app\":\"blog\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}", token: 1) == 403)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}", token: 1) == nil)
        #expect(status("{\"id\":\"x\",\"app\":\"shop\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{\"executor\":\"\(String(repeating: "e", count: 300))\",\"severity\":\"low\"}}") == 413)
        if case .failure(let rejection) = admit("{\"app\":\"shop\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{}}") {
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

/// The intake's fast path (FastJSON + `Envelope(json:)`) must agree with JSONDecoder or decline.
@Suite struct EnvelopeFastPathTests {
    func both(_ text: String) -> (fast: Envelope?, slow: Envelope?) {
        (FastJSON.parse(Array(text.utf8)).flatMap(Envelope.init(json:)), try? JSONDecoder().decode(Envelope.self, from: Data(text.utf8)))
    }

    @Test func agreesWithJSONDecoderWhenItAccepts() {
        let samples = [
            #"{"id":"a","app":"shop","source":"waf","type":"alert","body":{"executor":"e1","severity":"high","n":-1.5e3,"ok":true,"x":null,"l":[1,"two",{"3":[]}]}}"#,
            #" { "id" : "b\"\\\/\n\u00e9\ud83d\ude00" , "source":"admin","type":"rotate","body":{} , "time":"t", "app": null } "#,
            #"{"id":"c","source":"left_bracket","type":"health","body":{"executor":"e","status":"up","latency_ms":0}}"#,
        ]
        for sample in samples {
            let (fast, slow) = both(sample)
            #expect(fast != nil, "\(sample)")
            #expect(fast == slow, "\(sample)")
        }
    }

    @Test func declinesWhatJSONDecoderRejectsOrWhatItCannotJudge() {
        let samples = [
            #"{"id":"a","source":"waf","type":"alert","body":{}"#,
            #"{"id":"a","source":"waf","type":"alert","body":{}} x"#,
            #"{"id":1,"source":"waf","type":"alert","body":{}}"#,
            #"{"id":"a","source":"martian","type":"alert","body":{}}"#,
            #"{"id":"a","source":"waf","type":"alert"}"#,
            #"{"id":"a","source":"waf","type":"alert","body":{"n":01}}"#,
            #"{"id":"a","source":"waf","type":"alert","body":{"n":1.}}"#,
            #"{"id":"\ud800","source":"waf","type":"alert","body":{}}"#,
            "{\"id\":\"a\tb\",\"source\":\"waf\",\"type\":\"alert\",\"body\":{}}",
            #"[{"id":"a","source":"waf","type":"alert","body":{}}]"#,
        ]
        for sample in samples {
            #expect(FastJSON.parse(Array(sample.utf8)).flatMap(Envelope.init(json:)) == nil, "\(sample)")
        }
    }
}
