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
        #expect(
            authorizer.decide(token: 0, source: "admin", app: "blog")
                == .forbidden("token 'waf-1' may not send as source 'admin'"))
        #expect(authorizer.decide(token: 1, source: "admin", app: "shop") == .allowed)
        #expect(
            authorizer.decide(token: 1, source: "admin", app: "blog")
                == .forbidden("token 'ops' may not send to app 'blog'"))
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
