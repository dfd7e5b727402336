import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Listener

/// The supervisor says when it has started a worker, first start and restarts alike: the listener
/// connects the app's link at once on that (`WorkerLinkLaunchTests`).
///
/// Alone, like `CommandDriverTests`: it writes a script and has it started at once, and in the
/// parallel run another test's fork can still hold the script open for writing (a spawn that
/// fails or waits), so its first start did not come within 10 s there.
@Suite(.serialized, .runsAlone) struct WorkerSupervisorLaunchTests {
    @Test func everyStartAndRestartIsAnnounced() async throws {
        let scratch = try TempDirectory.make(prefix: "mimic-launch")
        // A stand-in for mimic-worker: a process that runs until killed, writing its pid.
        let pids = scratch.appendingPathComponent("pids").path
        let stand = scratch.appendingPathComponent("worker-stand-in.sh").path
        try "#!/bin/sh\necho $$ >> \(pids)\nexec sleep 600\n".write(toFile: stand, atomically: true, encoding: .utf8)
        chmod(stand, 0o755)
        let supervisor = WorkerSupervisor(
            workerExecutable: stand, runDir: scratch.path, grace: .milliseconds(500), logger: Logger(label: "test"))
        let launches = Mutex<[String]>([])
        await supervisor.onLaunch { app in launches.withLock { $0.append(app) } }
        await supervisor.add(app: "shop", configPath: scratch.appendingPathComponent("shop.yaml").path)
        func started() -> [pid_t] {
            ((try? String(contentsOfFile: pids, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                pid_t($0)
            }
        }
        defer { for pid in started() { ChildProcess.signal(pid, SIGKILL) } }
        #expect(try eventually(timeout: 30, interval: 0.02) { launches.withLock { $0 } == ["shop"] })
        #expect(try eventually(timeout: 30, interval: 0.02) { started().count == 1 })
        let first = try #require(started().first)
        ChildProcess.signal(first, SIGKILL)
        // Restarted after the supervisor's backoff: announced again.
        #expect(try eventually(timeout: 30, interval: 0.02) { launches.withLock { $0 } == ["shop", "shop"] })
        await supervisor.stopAll()
    }
}
