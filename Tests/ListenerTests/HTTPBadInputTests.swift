import Foundation
import TestSupport
import Testing

/// Bad input at the HTTP door (issue 8): each case gets a clear answer (or a closed connection for
/// a client that never finishes its request), the listener stays up, and what was accepted before
/// and after still takes effect.
@Suite(.serialized, .startsProcesses) struct HTTPBadInputTests {
    static let wellFormed = Messages.health("shop", id: "ok-before")

    func post(_ fixture: ListenerFixture, _ body: String) throws -> ListenerFixture.HTTPReply {
        try fixture.http("POST", "/v1/events", body: body)
    }

    /// The listener still accepts and applies a message after the abuse.
    func stillServes(_ fixture: ListenerFixture, id: String) throws {
        let before = try fixture.appliedSeq("shop")
        let reply = try post(fixture, Messages.health("shop", id: id))
        #expect(reply.status == 202)
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == before + 1 })
        #expect(ChildProcess.isAlive(fixture.pid))
    }

    @Test func malformedBodiesAreRefusedWith400() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        #expect(try post(fixture, Self.wellFormed).status == 202)

        // Duplicate keys: decided to reject, the sender cannot know which value would count.
        let duplicate =
            "{\"id\":\"d1\",\"app\":\"shop\",\"app\":\"blog\",\"source\":\"left_bracket\",\"type\":\"health\",\"body\":{\"executor\":\"e1\",\"status\":\"up\"}}"
        let dupReply = try post(fixture, duplicate)
        #expect(dupReply.status == 400)
        #expect((dupReply.json["error"] as? String)?.contains("duplicate key \"app\"") == true)
        // Also inside the body, and spelled with an escape.
        let escapedDuplicate =
            "{\"id\":\"d2\",\"app\":\"shop\",\"source\":\"left_bracket\",\"type\":\"health\",\"body\":{\"executor\":\"e1\",\"\\u0065xecutor\":\"e2\",\"status\":\"up\"}}"
        #expect(try post(fixture, escapedDuplicate).status == 400)

        // Deep nesting inside the body.
        // (100 levels fit in the fixture's max_message_bytes of 4096, so the depth is what is refused.)
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let deepReply = try post(
            fixture,
            "{\"id\":\"n1\",\"app\":\"shop\",\"source\":\"left_bracket\",\"type\":\"health\",\"body\":{\"executor\":\"e1\",\"status\":\"up\",\"x\":\(deep)}}"
        )
        #expect(deepReply.status == 400)
        #expect((deepReply.json["error"] as? String)?.contains("nested deeper") == true)
        // Deep nesting of the top-level array itself.
        #expect(try post(fixture, "[" + deep + "]").status == 400)

        // Not JSON, not an object, truncated, empty array, wrong types.
        for body in ["not json", "42", "\"text\"", "{\"id\":", "[]", "[1,2]", "{\"id\":5}", "", "[{}"] {
            let reply = try post(fixture, body)
            #expect(reply.status == 400, "body \(body) got \(reply.status)")
            #expect(reply.json["error"] is String, "body \(body): \(reply.body)")
        }
        try stillServes(fixture, id: "ok-after-malformed")
    }

    @Test func invalidUTF8IsRefused() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        var bytes = Array(
            "{\"id\":\"u1\",\"app\":\"shop\",\"source\":\"left_bracket\",\"type\":\"health\",\"body\":{\"executor\":\""
                .utf8)
        bytes += [0xC3, 0x28, 0xFF, 0xFE]
        bytes += Array("\",\"status\":\"up\"}}".utf8)
        let client = try RawTCP(port: fixture.httpPort)
        let head =
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ListenerFixture.adminToken)\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        client.send(Array(head.utf8) + bytes)
        let answer = client.drain(timeout: 10)
        #expect(RawTCP.httpStatus(answer.text) == 400)
        #expect(answer.text.contains("invalid UTF-8"))
        try stillServes(fixture, id: "ok-after-utf8")
    }

    @Test func hugeArraysAndBodiesAreRefusedWhole() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let before = try fixture.appliedSeq("shop")
        // More elements than one request may carry: 413, none journaled.
        let many = "[" + (0...10_000).map { Messages.health("shop", id: "h-\($0)") }.joined(separator: ",") + "]"
        let manyReply = try post(fixture, many)
        #expect(manyReply.status == 413)
        // A body announced past the byte limit is refused before it is read.
        let big = try RawTCP(port: fixture.httpPort)
        big.send(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ListenerFixture.adminToken)\r\nContent-Length: \(64 << 20)\r\n\r\n["
        )
        #expect(RawTCP.httpStatus(big.drain(timeout: 5).text) == 413)
        // One element past max_message_bytes (4096 in the fixture) rejects the whole array.
        let fat =
            "{\"id\":\"fat\",\"app\":\"shop\",\"source\":\"left_bracket\",\"type\":\"health\",\"body\":{\"executor\":\"e1\",\"status\":\"up\",\"pad\":\"\(String(repeating: "x", count: 5000))\"}}"
        let mixed = try post(fixture, "[" + Messages.health("shop", id: "fine") + "," + fat + "]")
        #expect(mixed.status == 413)
        #expect(mixed.json["index"] as? Int == 1)
        // Nothing of the refused requests took effect.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try fixture.appliedSeq("shop") == before)
        try stillServes(fixture, id: "ok-after-huge")
    }

    @Test func oversizedHeadersCloseTheConnection() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let client = try RawTCP(port: fixture.httpPort)
        let header = "X-Filler: " + String(repeating: "a", count: 64 * 1024) + "\r\n"
        client.send("POST /v1/events HTTP/1.1\r\nHost: x\r\n" + header + "Content-Length: 2\r\n\r\n{}")
        let answer = client.drain(timeout: 10)
        #expect(answer.closed)
        if let status = RawTCP.httpStatus(answer.text) { #expect(status >= 400) }
        try stillServes(fixture, id: "ok-after-headers")
    }

    @Test func slowlorisIsCutByTheRequestDeadline() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let started = Date()
        let slow = try RawTCP(port: fixture.httpPort)
        var closed = !slow.send("POST /v1/events HTTP/1.1\r\nHost: x\r\n")
        // One header byte every 300 ms: never idle, never finished.
        let trickle = Array("X-Slow: \(String(repeating: "z", count: 200))".utf8)
        var index = 0
        while !closed, Date().timeIntervalSince(started) < 25 {
            closed = !slow.send([trickle[index % trickle.count]])
            index += 1
            if !closed { closed = slow.drain(timeout: 0.3).closed }
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(closed, "slow client still connected after \(elapsed)s")
        #expect(elapsed < 15, "cut after \(elapsed)s; the deadline is 10s")
        // A slow body is cut the same way.
        let slowBody = try RawTCP(port: fixture.httpPort)
        slowBody.send(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ListenerFixture.adminToken)\r\nContent-Length: 100000\r\n\r\n{"
        )
        #expect(slowBody.drain(timeout: 15).closed)
        try stillServes(fixture, id: "ok-after-slowloris")
    }
}
