import Foundation
import TestSupport
import Testing

/// Host failures with real processes: the worker, Redis, executor processes started by the
/// example hooks, and one TCP listener process per host as the probe target, killed and started
/// again by the test. Assertions read Redis only.
@Suite(.serialized, .startsProcesses)
struct HostFailureTests {
    static let interval = 0.2
    static let fall = 3
    static let rise = 2

    /// Six executors, three per host (placement balances hosts), so whatever the online ones on
    /// the failing host, the other host holds as many standbys to replace them at once.
    static func twoHostWorker(
        redis: RedisServer, targets: [String: ProbeTarget],
        extra: String = ""
    ) throws -> WorkerFixture {
        var probes: [String: String] = [:]
        for (host, target) in targets {
            probes[host] = "{ tcp: \"127.0.0.1:\(target.port)\", interval: 200ms, fall: \(fall), rise: \(rise) }"
        }
        return try WorkerFixture(
            redis: redis, standby: 3, probes: probes,
            scheduling: "scheduling: { seed: 42, rotate_every: 0 }\n" + extra)
    }

    static func hostOf(_ worker: WorkerFixture, _ id: String) throws -> String? {
        try worker.hash("mimic:shop:exec:\(id)")["host"]
    }

    @Test func aHostThatGoesDownIsPurgedItsOnlineExecutorsGoOfflineAndAreReplacedThenCleanedUpWhenItReturns() throws {
        let redis = try RedisServer()
        let node1 = try ProbeTarget()
        let node2 = try ProbeTarget()
        let worker = try Self.twoHostWorker(redis: redis, targets: ["local1": node1, "local2": node2])
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 3 && worker.members("standby").count == 3 })
        #expect(try eventually { try worker.hash("mimic:shop:host:local1")["status"] == "up" })
        #expect(try worker.hash("mimic:shop:host:local2")["status"] == "up")

        var onLocal1: [String: String] = [:]
        for state in ["online", "standby", "initializing"] {
            for id in try worker.members(state) where try Self.hostOf(worker, id) == "local1" { onLocal1[id] = state }
        }
        let onlineOnLocal1 = Set(onLocal1.filter { $0.value == "online" }.keys)
        let purgedOnLocal1 = Set(onLocal1.filter { $0.value != "online" }.keys)
        #expect(!onlineOnLocal1.isEmpty, "placement spread the online set over both hosts")

        let standbyOnLocal2 = try worker.members("standby").filter { try Self.hostOf(worker, $0) == "local2" }
        #expect(standbyOnLocal2.count == onlineOnLocal1.count)
        // The purged ones are dropped from the pools, not removed (the host cannot be reached):
        // their processes run on until the host is back.
        #expect(try eventually { try worker.members("initializing").isEmpty })
        let purgedPidFiles = purgedOnLocal1.map { "\(worker.executorDir)/shop/local1/\($0).pid" }
        #expect(!purgedPidFiles.isEmpty && purgedPidFiles.allSatisfy(FileManager.default.fileExists))
        let killedAt = Date()
        node1.kill()
        let budget = Self.interval * Double(Self.fall) + 1
        let replaced = try eventually(timeout: budget, interval: 0.01) {
            let online = try worker.members("online")
            return try worker.members("offline") == onlineOnLocal1 && online.count == 3
                && online.allSatisfy { try Self.hostOf(worker, $0) == "local2" }
        }
        let replacedMs = Int(Date().timeIntervalSince(killedAt) * 1000)
        #expect(replaced, "offline list and replacements within interval*fall + 1 s")
        let host = try worker.hash("mimic:shop:host:local1")
        #expect(host["status"] == "down")
        #expect(try worker.status()["hosts"] as? [String: String] == ["local1": "down", "local2": "up"])
        #expect(host["failures"] == "\(Self.fall)")
        #expect(Int64(host["since"] ?? "") ?? 0 >= Int64(killedAt.timeIntervalSince1970 * 1000))

        let events = try worker.events()
        for id in purgedOnLocal1 {
            #expect(try worker.hash("mimic:shop:exec:\(id)").isEmpty, "\(id) removed from the pools")
            #expect(
                events.contains {
                    $0["executor"] == id && $0["to"] == "removed" && $0["cause"] == "host:local1"
                        && $0["reason"]?.hasPrefix("purged: host local1 down") == true
                })
        }
        for id in onlineOnLocal1 {
            #expect(
                events.contains {
                    $0["executor"] == id && $0["from"] == "online" && $0["to"] == "offline"
                        && $0["cause"] == "host:local1"
                })
            #expect(try worker.hash("mimic:shop:exec:\(id)")["state"] == "offline")
        }
        let downAt = events.first { $0["to"] == "offline" && $0["cause"] == "host:local1" }?["time"].flatMap {
            Int64($0)
        }
        let promotions = events.filter {
            $0["from"] == "standby" && $0["to"] == "online" && $0["cause"] == "host:local1"
        }
        #expect(promotions.count == onlineOnLocal1.count, "local2's standbys stepped in, in the host-down transaction")
        #expect(promotions.allSatisfy { $0["time"].flatMap { Int64($0) } == downAt })
        let detectedMs = Int((downAt ?? 0) - Int64(killedAt.timeIntervalSince1970 * 1000))
        print(
            "measured: host down detected and replaced in \(detectedMs) ms (seen in Redis after \(replacedMs) ms) "
                + "(probe interval 200ms, fall \(Self.fall))")
        #expect(try eventually { try worker.members("standby").count == 3 }, "standbys refilled on local2")

        // Host up: its offline executors are removed through the driver, the pools spread again.
        let upAt = Date()
        try node1.start()
        let cleaned = try eventually(timeout: Self.interval * Double(Self.rise) + 3, interval: 0.02) {
            try worker.members("offline").isEmpty
        }
        #expect(cleaned, "offline executors removed within rise*interval + hook time")
        print(
            "measured: host up detected and its offline executors removed in "
                + "\(Int(Date().timeIntervalSince(upAt) * 1000)) ms")
        #expect(try worker.hash("mimic:shop:host:local1")["status"] == "up")
        // Host up lists the host at once, instead of at the next online check (30 s away here):
        // the purged standbys' processes are removed as executors nobody records.
        #expect(
            eventually(timeout: 5, interval: 0.02) {
                purgedPidFiles.allSatisfy { !FileManager.default.fileExists(atPath: $0) }
            }, "the purged standbys' processes removed after host up")
        #expect(
            try worker.events().contains {
                $0["cause"] == "online-check" && $0["reason"]?.contains("not recorded; removing it") == true
            })
        let afterUp = try worker.events()
        for id in onlineOnLocal1 {
            #expect(afterUp.contains { $0["executor"] == id && $0["from"] == "offline" && $0["to"] == "removed" })
            #expect(try worker.hash("mimic:shop:exec:\(id)").isEmpty)
            #expect(
                !FileManager.default.fileExists(atPath: "\(worker.executorDir)/shop/local1/\(id).pid"),
                "its process was stopped by the remove hook")
        }
        #expect(
            try eventually {
                let live = try worker.members("online").union(worker.members("standby"))
                return try live.count == 6 && worker.members("standby").count == 3
                    && live.contains { try Self.hostOf(worker, $0) == "local1" }
            }, "pools full and spread over both hosts again")
    }

    @Test func orphanAndMissingExecutorsAreFoundByTheOnlineCheck() throws {
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis, scheduling: "scheduling: { seed: 42 }\nreconcile_every: 500ms")
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 3 && worker.members("standby").count == 2 })

        // An executor nobody recorded: running on local1 behind the worker's back, where the
        // example hooks keep their executors (pid file in the host's directory).
        let hostDir = "\(worker.executorDir)/shop/local1"
        let server = BuiltProducts.packageRoot.appendingPathComponent("examples/executor/variant_server.py").path
        let stray = try ChildProcess.spawn(
            executable: "/usr/bin/env",
            arguments: [
                "python3", server, "--app", "shop", "--executor", "stray-1", "--variant", "nginx-php",
                "--port-file", "\(hostDir)/stray-1.port",
            ])
        defer { ChildProcess.kill(stray) }
        let strayPid = "\(hostDir)/stray-1.pid"
        try "\(stray)\n".write(toFile: strayPid, atomically: true, encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: strayPid))

        // Recorded executors that no longer run: one online, one standby, killed behind its back.
        let online = try worker.members("online").sorted()[0]
        let standby = try worker.members("standby").sorted()[0]
        for id in [online, standby] {
            let host = try #require(try Self.hostOf(worker, id))
            let pidText = try String(contentsOfFile: "\(worker.executorDir)/shop/\(host)/\(id).pid", encoding: .utf8)
            kill(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines))!, SIGKILL)
        }

        #expect(eventually(timeout: 5) { !FileManager.default.fileExists(atPath: strayPid) }, "orphan removed")
        #expect(
            try eventually(timeout: 5) {
                try worker.events().contains {
                    $0["executor"] == "stray-1" && $0["cause"] == "online-check"
                        && $0["reason"]?.contains("runs on host local1 but is not recorded; removing it") == true
                }
            })
        #expect(
            try eventually(timeout: 5) {
                let events = try worker.events()
                return [online, standby].allSatisfy { id in
                    events.contains {
                        $0["executor"] == id && $0["to"] == "cleaning" && $0["cause"] == "online-check"
                            && $0["reason"]?.contains("not running on host") == true
                    }
                }
            })
        // Both are restored from their clean image and the online set is whole again.
        let settled = try eventually(timeout: 10) {
            try worker.members("online").count == 3 && worker.members("standby").count == 2
                && worker.members("cleaning").isEmpty
        }
        #expect(settled)
        #expect(
            try worker.events().contains {
                $0["executor"] == online && $0["from"] == "online" && $0["to"] == "cleaning"
            })
    }
}
