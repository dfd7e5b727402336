import Foundation
import Shared
import TestSupport
import Testing

/// Bad input at the TCP NDJSON door (issue 8): a clear error line, the listener stays up, and a
/// well-behaved client on the same listener is served throughout.
@Suite(.serialized, .startsProcesses) struct TCPBadInputTests {
    func authLine(_ token: String = ListenerFixture.adminToken) -> String { "{\"auth\":\"\(token)\"}\n" }

    func validClientWorks(_ fixture: ListenerFixture, id: String) throws {
        let before = try fixture.appliedSeq("shop")
        let client = try LineSocket(tcpPort: fixture.tcpPort)
        try client.sendLines(["{\"auth\":\"\(ListenerFixture.adminToken)\"}", Messages.health("shop", id: id)])
        #expect(client.readJSON()?["ok"] as? String == id)
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == before + 1 })
    }

    @Test func noAuthLineIsRefusedAndClosed() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        // An envelope where the auth line should be.
        let client = try RawTCP(port: fixture.tcpPort)
        client.send(Messages.health("shop", id: "no-auth") + "\n")
        let answer = client.drain(timeout: 5)
        #expect(answer.closed)
        #expect(answer.text.contains("\"code\":401"))
        // A wrong token.
        let wrong = try RawTCP(port: fixture.tcpPort)
        wrong.send(authLine("not-a-token-000000000") + Messages.health("shop", id: "bad-token") + "\n")
        let wrongAnswer = wrong.drain(timeout: 5)
        #expect(wrongAnswer.closed && wrongAnswer.text.contains("unknown token"))
        // Silence: cut after the auth deadline.
        let silent = try RawTCP(port: fixture.tcpPort)
        let silence = silent.drain(timeout: 15)
        #expect(silence.closed && silence.text.contains("\"code\":401"))
        #expect(try fixture.appliedSeq("shop") == 0)
        try validClientWorks(fixture, id: "after-no-auth")
    }

    @Test func longLinesAndGarbageAreAnsweredAndTheStreamGoesOn() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let client = try RawTCP(port: fixture.tcpPort)
        var stream = Array(authLine().utf8)
        stream += Array((String(repeating: "x", count: 100_000) + "\n").utf8)  // past max_message_bytes (4096)
        stream += (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }.filter { $0 != 0x0A } + [0x0A]  // binary garbage
        stream += [0xFF, 0xFE, 0x00, 0x7B, 0x0A]  // invalid UTF-8 and a NUL
        stream += Array("{\"id\":\"dup\",\"id\":\"dup2\",\"app\":\"shop\"}\n".utf8)  // duplicate keys
        stream += Array((Messages.health("shop", id: "good-after-garbage") + "\n").utf8)
        client.send(stream)
        let answer = client.drain(timeout: 5)
        let lines = answer.text.split(separator: "\n").map { String($0) }
        #expect(lines.count == 5, "answers: \(lines)")
        guard lines.count == 5 else { return }
        #expect(lines[0].contains("\"code\":413"))
        #expect(lines[1].contains("\"code\":400"))
        #expect(lines[2].contains("\"code\":400"))
        #expect(lines[3].contains("duplicate key"))
        #expect(lines[4] == "{\"ok\":\"good-after-garbage\"}")
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 1 })
        try validClientWorks(fixture, id: "after-garbage")
    }

    @Test func aThousandIdleConnectionsDoNotStopAValidClient() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        var idle: [RawTCP] = []
        for index in 0..<1000 {
            let connection = try RawTCP(port: fixture.tcpPort)
            // Half authenticate and then say nothing; half never authenticate.
            if index.isMultiple(of: 2) { connection.send(authLine()) }
            idle.append(connection)
        }
        try validClientWorks(fixture, id: "amid-idle-1")
        #expect(try fixture.http("GET", "/healthz", token: nil).status == 200)
        // After the auth deadline the unauthenticated half is gone; the server still serves.
        Thread.sleep(forTimeInterval: 11)
        let closed = idle.enumerated().filter { $0.offset % 2 == 1 }.filter { $0.element.drain(timeout: 0.01).closed }
            .count
        #expect(closed == 500)
        try validClientWorks(fixture, id: "amid-idle-2")
        #expect(ChildProcess.isAlive(fixture.pid))
    }
}
