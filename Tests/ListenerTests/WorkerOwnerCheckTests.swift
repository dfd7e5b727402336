import Foundation
import Shared
import TestSupport
import Testing

/// Issue 13 finding 5: on a run_dir several apps' workers share (containers with a uid each), the
/// listener hands an app's frames only to a socket whose listening process runs as the app's
/// `worker_uid`, as the kernel reports it (SO_PEERCRED), the same check the worker makes of the
/// listener with `listener_uid`.
@Suite(.serialized, .startsProcesses) struct WorkerOwnerCheckTests {
    @Test func aSocketOwnedByAnotherUidGetsNoFrames() throws {
        // The supervised workers run as this test's uid; shop's config demands another one.
        let stranger = getuid() == 4242 ? 4243 : 4242
        let fixture = try ListenerFixture(apps: ["shop", "blog"], appExtra: ["shop": "worker_uid: \(stranger)"])
        try fixture.start(apps: ["blog"])
        let refused = try eventually(timeout: 20) {
            let worker = try fixture.appsStatus()["shop"]?["worker"] as? [String: Any]
            return worker?["state"] as? String == "running" && worker?["refused_owner"] != nil
        }
        let shop = try fixture.appsStatus()["shop"]?["worker"] as? [String: Any]
        #expect(refused, "\(shop ?? [:])")
        let pid = try #require((shop?["pid"] as? NSNumber)?.intValue)
        #expect(shop?["connected"] as? Bool == false)
        #expect(shop?["refused_owner"] as? String == "uid \(getuid()) (pid \(pid))")
        // Accepted and journaled, but not handed to the wrong process.
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "s1")).status == 202)
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("blog", id: "b1")).status == 202)
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("blog") == 1 })
        Thread.sleep(forTimeInterval: 1)
        #expect(try fixture.appliedSeq("shop") == 0)
        #expect(
            try fixture.appsStatus()["shop"]?["journal"].flatMap { ($0 as? [String: Any])?["backlog_messages"] as? Int }
                == 1)
    }

    @Test func theAppsOwnUidIsServed() throws {
        let fixture = try ListenerFixture(apps: ["shop"], appExtra: ["shop": "worker_uid: \(getuid())"])
        try fixture.start(apps: ["shop"])
        #expect(try fixture.http("POST", "/v1/events", body: Messages.health("shop", id: "s1")).status == 202)
        #expect(try eventually(timeout: 10) { try fixture.appliedSeq("shop") == 1 })
        #expect((try fixture.appsStatus()["shop"]?["worker"] as? [String: Any])?["refused_owner"] == nil)
    }
}
