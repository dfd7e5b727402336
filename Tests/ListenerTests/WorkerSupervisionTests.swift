import Foundation
import TestSupport
import Testing

/// The listener's supervision of worker processes against real processes.
@Suite(.serialized, .startsProcesses) struct WorkerSupervisionTests {
    /// A worker started through a wrapper that leaves a child behind (a log shipper, a sidecar):
    /// the child inherits every descriptor the wrapper had, including the one Foundation's
    /// `Process` watches for the worker's end (swift-corelibs-foundation #4795). A kill -9 of the
    /// worker must still be seen, reaped and followed by a restart.
    @Test func aKilledWorkerIsRestartedEvenWhenItsChildKeepsItsDescriptors() throws {
        let scratch = try TempDirectory.make(prefix: "mimic-wrapper")
        let sidecarPIDs = scratch.appendingPathComponent("sidecar.pids").path
        let wrapper = scratch.appendingPathComponent("worker-with-sidecar.sh").path
        let worker = try BuiltProducts.path("mimic-worker")
        try "#!/bin/sh\nsleep 600 &\necho $! >> \(sidecarPIDs)\nexec \"\(worker)\" \"$@\"\n"
            .write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        defer {
            let pids = (try? String(contentsOfFile: sidecarPIDs, encoding: .utf8)) ?? ""
            for pid in pids.split(separator: "\n").compactMap({ pid_t($0) }) { ChildProcess.signal(pid, SIGKILL) }
        }
        let fixture = try ListenerFixture(apps: ["shop"], workerExecutable: wrapper)
        try fixture.start(apps: ["shop"])
        let first = try #require(try fixture.workerPID("shop"))
        ChildProcess.signal(pid_t(first), SIGKILL)
        let restarted = try eventually(timeout: 15, interval: 0.05) {
            guard let now = try fixture.workerPID("shop"), now != first else { return false }
            return (try fixture.appsStatus()["shop"]?["worker"] as? [String: Any])?["connected"] as? Bool == true
        }
        #expect(restarted, "worker status after the kill: \(String(describing: try? fixture.appsStatus()["shop"]))")
        let worker0 = try fixture.appsStatus()["shop"]?["worker"] as? [String: Any]
        #expect((worker0?["restarts"] as? Int ?? 0) >= 1)
        #expect(
            !FileManager.default.fileExists(atPath: "/proc/\(first)"), "the killed worker was reaped, not left a zombie"
        )
        #expect(fixture.terminate())
    }

    /// Issue 13 finding 6: a restarted listener adopts the worker that serves an app socket, and
    /// later signals it. A process that serves the socket but names another pid (here: the pid of
    /// an innocent `sleep`) is not adopted, so stopping the app or the listener never signals the
    /// process it named.
    @Test func aSocketOwnerThatNamesAnotherPidIsNotAdoptedNorItsPidSignalled() throws {
        let innocent = try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["600"])
        defer { ChildProcess.signal(innocent, SIGKILL) }
        let fixture = try ListenerFixture(apps: ["shop"])
        try FileManager.default.createDirectory(atPath: fixture.runDir, withIntermediateDirectories: true)
        let impostor = try ScriptedWorker(path: fixture.runDir + "/shop.sock")
        impostor.script { $0.statusPID = Int(innocent) }
        try fixture.start(apps: [], environment: nil)
        let asked = eventually(timeout: 10) { impostor.snapshot.queries >= 1 }
        #expect(asked, "the listener asked the socket who serves it")
        Thread.sleep(forTimeInterval: 1)
        let worker = try fixture.appsStatus()["shop"]?["worker"] as? [String: Any]
        #expect((worker?["pid"] as? NSNumber)?.int32Value != innocent, "\(String(describing: worker))")
        let stopped = try fixture.http("POST", "/v1/apps/shop/worker/stop")
        #expect(stopped.status == 200, "\(stopped.body)")
        #expect(fixture.terminate())
        impostor.stop()
        #expect(ChildProcess.isAlive(innocent), "the innocent process the impostor named was never signalled")
    }
}
