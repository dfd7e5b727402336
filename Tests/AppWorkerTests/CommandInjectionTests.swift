import Foundation
import Shared
import TestSupport
import Testing

@testable import AppWorker

/// No argument or shell injection through the command driver (issue 8). Hooks get argv, never a
/// shell line; placeholder values are checked before a hook runs; and the only values that reach
/// them are worker-generated executor ids and config names, never a message body's text.
@Suite(.serialized, .startsProcesses)
struct CommandInjectionTests {
    @Test func hostileValuesNeverRunAHook() async throws {
        let dir = NSTemporaryDirectory() + "mimic-inject-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let marker = dir + "/hook-ran"
        let hook = dir + "/remove.sh"
        try "#!/bin/sh\ntouch \(marker)\n".write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        let driver = CommandDriver(
            app: "shop", host: "h1",
            hooks: CommandHooks(
                timeout: .seconds(30), create: [hook], clean: [hook],
                remove: [hook, "{executor}", "{variant}", "{host}"], list: [hook]))
        let hostile = [
            DriverTarget(app: "shop", executor: "e1; touch \(dir)/pwned", variant: "v1", host: "h1"),
            DriverTarget(app: "shop", executor: "$(touch \(dir)/pwned)", variant: "v1", host: "h1"),
            DriverTarget(app: "shop", executor: "--all", variant: "v1", host: "h1"),
            DriverTarget(app: "shop", executor: "e1", variant: "-rf", host: "h1"),
            DriverTarget(app: "shop", executor: "e1", variant: "v1", host: "h1\n--privileged"),
            DriverTarget(app: "Shop;x", executor: "e1", variant: "v1", host: "h1"),
        ]
        for target in hostile {
            await #expect(throws: DriverError.self) { try await driver.remove(target) }
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(!FileManager.default.fileExists(atPath: dir + "/pwned"))
        // A normal target runs the hook.
        try await driver.remove(DriverTarget(app: "shop", executor: "e1", variant: "nginx-php", host: "node1.dc"))
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    @Test func shellTextInAnArgumentStaysLiteral() {
        let argv = CommandDriver.substitute(
            ["/bin/echo", "{app}-{executor}"],
            DriverTarget(app: "shop", executor: "e1", variant: "", host: ""))
        #expect(argv == ["/bin/echo", "shop-e1"])
    }

    /// Message bodies name executors, but only as lookups: an unknown or hostile id is a note,
    /// and no hook runs for it.
    @Test func messageBodiesDoNotReachHooks() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(
            redis: redis, online: 1, standby: 0, minOnline: 1, retainDirty: 0,
            scheduling: "scheduling: { seed: 42 }")
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 1 })
        let pwned = worker.directory.appendingPathComponent("pwned").path
        let client = try worker.connect()
        let hostile = ["e1; touch \(pwned)", "$(touch \(pwned))", "--all", "`touch \(pwned)`"]
        var seq = 0
        for executor in hostile {
            seq += 1
            _ = try client.request(
                deliveryFrame(
                    epoch: "inject", seq: seq, source: "admin", type: "set_state",
                    body: ["executor": executor, "state": "cleaning"]))
            seq += 1
            _ = try client.request(
                deliveryFrame(
                    epoch: "inject", seq: seq, source: "waf", type: "alert",
                    body: ["executor": executor, "severity": "critical"]))
        }
        #expect(try worker.appliedSeq() == seq)
        Thread.sleep(forTimeInterval: 1)
        #expect(!FileManager.default.fileExists(atPath: pwned))
        // No executor with a hostile id was ever created or moved.
        for state in ["initializing", "standby", "online", "dirty", "cleaning", "offline"] {
            #expect(try worker.members(state).filter { !$0.isEmpty }.allSatisfy { ExecutorID.isValid($0) })
        }
        #expect(try worker.members("online").count == 1)
    }
}
