import Foundation
import Shared
import TestSupport
import Testing

@Suite(.serialized, .startsProcesses) struct SmokeE2ETests {
    @Test func acceptsForwardsAndApplies() throws {
        let fixture = try ListenerFixture(apps: ["shop"])
        try fixture.start(apps: ["shop"])
        let reply = try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "h-1"))
        #expect(reply.status == 202, "\(reply.body)")
        #expect(reply.json["accepted"] as? Int == 1)
        let tcp = try LineSocket(tcpPort: fixture.tcpPort)
        try tcp.sendLines(["{\"auth\":\"\(ListenerFixture.adminToken)\"}", Messages.health("shop", id: "h-2")])
        #expect(tcp.readJSON()?["ok"] as? String == "h-2")
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 2 }, "\(fixture.log())")
        let pid = fixture.pid
        #expect(fixture.terminate())
        #expect(ChildProcess.exitCode(pid) == 0, "SIGTERM stops the listener gracefully with exit 0")
        #expect(
            !FileManager.default.fileExists(atPath: fixture.runDir + "/shop.sock")
                || (try? LineSocket(path: fixture.runDir + "/shop.sock", timeout: 0.2)) == nil,
            "the supervised worker was stopped too")
    }
}
