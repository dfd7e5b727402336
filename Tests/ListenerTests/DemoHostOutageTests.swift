import Foundation
import Shared
import TestSupport
import Testing

/// `make run` as a whole (scripts/run-demo.sh): its private Redis, the listener supervising the
/// example apps' workers, the host agents, the executors the example hooks start, the demo
/// traffic, and the host crash, with short timings, its own ports and its own directory.
/// Assertions read the apps' Redis state and /proc, never the terminal output.
@Suite(.serialized, .runsAlone)
struct DemoHostOutageTests {
    static let downAfter = 10.0
    static let downFor = 8.0
    static let apps = [("shop", 1), ("blog", 2)]

    struct Demo {
        let directory: URL
        let redisPort: Int
        let pid: pid_t

        /// One line per value; an empty value is an empty line (hash fields such as `reason` can be empty).
        func cli(_ db: Int, _ arguments: [String]) throws -> [String] {
            var lines = try ChildProcess.run(
                executable: "/usr/bin/redis-cli",
                arguments: ["-p", "\(redisPort)", "-n", "\(db)", "--raw"] + arguments
            )
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            return lines
        }

        func hash(_ db: Int, _ key: String) throws -> [String: String] {
            try cli(db, ["HGETALL", key]).fieldPairs
        }

        /// id -> (state, host) of every executor the app's pools record.
        func executors(_ app: String, _ db: Int) throws -> [String: (state: String, host: String)] {
            var found: [String: (state: String, host: String)] = [:]
            for state in ["initializing", "standby", "online", "dirty", "cleaning", "offline"] {
                // An empty set prints one empty line; ids are never empty.
                for id in try cli(db, ["SMEMBERS", "mimic:\(app):state:\(state)"]) where !id.isEmpty {
                    found[id] = (state, try hash(db, "mimic:\(app):exec:\(id)")["host"] ?? "?")
                }
            }
            return found
        }

        func hostStatus(_ app: String, _ db: Int, _ host: String) throws -> String? {
            try hash(db, "mimic:\(app):host:\(host)")["status"]
        }

        var log: String {
            (try? String(contentsOf: directory.appendingPathComponent("demo.out"), encoding: .utf8)) ?? ""
        }
    }

    /// The shop events that name one of `ids`, for a failure message.
    static func events(of ids: Set<String>, _ demo: Demo) -> String {
        let lines = (try? demo.cli(1, ["XRANGE", "mimic:shop:events", "-", "+"])) ?? []
        var entries: [[String]] = []
        for line in lines {
            if line.range(of: #"^\d{13}-\d+$"#, options: .regularExpression) != nil { entries.append([]) } else if !entries.isEmpty { entries[entries.count - 1].append(line) }
        }
        return entries.map(\.fieldPairs).filter { ids.contains($0["executor"] ?? "") }
            .map { "\($0["time"] ?? "") \($0["from"] ?? "")->\($0["to"] ?? "") \($0["reason"] ?? "") [\($0["cause"] ?? "")]" }
            .joined(separator: "; ")
    }

    /// Live processes whose command line mentions `text`.
    static func processes(mentioning text: String) -> [pid_t: String] {
        var found: [pid_t: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), pid != getpid(), ChildProcess.isAlive(pid),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            let line = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
            if line.contains(text) { found[pid] = line }
        }
        return found
    }

    /// `root` and every live process below it (parent links in /proc).
    static func descendants(of root: pid_t) -> Set<pid_t> {
        var parent: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 1, let ppid = pid_t(fields[1]) { parent[pid] = ppid }
        }
        return Set(
            parent.keys.filter { pid in
                var current: pid_t? = pid
                while let p = current, p > 1 {
                    if p == root { return true }
                    current = parent[p]
                }
                return false
            })
    }

    @Test func theDemoCrashesHostLocal2TheWorkersReplaceItsExecutorsAndCleanUpWhenItReturnsAndCtrlCStopsEverything()
        throws
    {
        let directory = try TempDirectory.make(prefix: "mimic-demo")
        let demoDir = directory.appendingPathComponent("var").path
        let ports = try (0..<5).map { _ in try FreePort.take() }
        let binDir = URL(fileURLWithPath: try BuiltProducts.path("mimic-worker")).deletingLastPathComponent().path
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/run-demo.sh").path
        // ChildProcess starts it with no signal blocked or ignored, as from a terminal, so SIGINT reaches it.
        let pid = try ChildProcess.spawn(
            executable: "/bin/bash", arguments: [script],
            environment: [
                "MIMIC_BIN_DIR": binDir, "MIMIC_DEMO_DIR": demoDir,
                "MIMIC_DEMO_REDIS_PORT": "\(ports[0])", "MIMIC_DEMO_HTTP_PORT": "\(ports[1])",
                "MIMIC_DEMO_TCP_PORT": "\(ports[2])", "MIMIC_DEMO_AGENT1_PORT": "\(ports[3])",
                "MIMIC_DEMO_AGENT2_PORT": "\(ports[4])",
                "MIMIC_DEMO_HOST_DOWN_AFTER": "\(Self.downAfter)", "MIMIC_DEMO_HOST_DOWN_FOR": "\(Self.downFor)",
            ], logFile: directory.appendingPathComponent("demo.out").path)
        let demo = Demo(directory: directory, redisPort: ports[0], pid: pid)
        var stopped = false
        defer {
            if !stopped { ChildProcess.stop(pid, grace: 15) }
            // Whatever happened above, nothing of this demo outlives the test.
            for leftover in Self.descendants(of: pid).union(Self.processes(mentioning: demoDir).keys) {
                kill(leftover, SIGKILL)
            }
            ChildProcess.kill(pid)
            try? FileManager.default.removeItem(at: directory)
        }

        // The fleet is up: both hosts probed up, every app's online set full.
        let up = eventually(timeout: Self.downAfter + 30, interval: 0.2) {
            // Redis comes up with the demo: until then, not up.
            (try? Self.apps.allSatisfy { app, db in
                try demo.hostStatus(app, db, "local1") == "up" && demo.hostStatus(app, db, "local2") == "up"
                    && demo.cli(db, ["SCARD", "mimic:\(app):state:online"]) == ["3"]
            }) ?? false
        }
        try #require(up, "fleet up: \(demo.log)")

        // Until the crash: what the pools keep on local2 (the host must carry executors for the
        // crash to mean anything). The most seen: between the crash and the probes' verdict the
        // brackets already flag the dead ones.
        var onLocal2BeforeCrash = 0
        let down = try eventually(timeout: Self.downAfter + 20, interval: 0.1) {
            let status = try demo.hostStatus("shop", 1, "local2")
            if status == "up" {
                onLocal2BeforeCrash = max(
                    onLocal2BeforeCrash,
                    try demo.executors("shop", 1).values
                        .filter { $0.host == "local2" && ($0.state == "online" || $0.state == "standby") }.count)
            }
            return status == "down"
        }
        try #require(down, "the worker marks local2 down: \(demo.log)")
        #expect(onLocal2BeforeCrash > 0, "shop had executors on local2 before the crash")
        let host = try demo.hash(1, "mimic:shop:host:local2")
        #expect(Int(host["failures"] ?? "") ?? 0 >= 3, "down after `fall` failed probes: \(host)")
        #expect(try demo.hostStatus("shop", 1, "local1") == "up")

        // While local2 is down: no executor of shop is online there (sampled until it is back),
        // the online set is whole again on local1, and no executor process runs on local2.
        var samples = 0
        var replacedOnLocal1 = false
        var onlineOnLocal2: Set<String> = []
        // A hook that was creating an executor when the host died may start its process after
        // the crash; the crashed host kills it at once (the demo sweeps it every 100 ms). One
        // seen twice, a second apart, survived the crash.
        var firstSeenOnLocal2: [pid_t: Date] = [:]
        var runningOnLocal2: [pid_t: String] = [:]
        let hostDir = "\(demoDir)/executors/shop/local2/"
        while try demo.hostStatus("shop", 1, "local2") == "down" {
            let executors = try demo.executors("shop", 1)
            // Read again: only a sample taken entirely while the host was down counts.
            guard try demo.hostStatus("shop", 1, "local2") == "down" else { break }
            samples += 1
            let online = executors.filter { $0.value.state == "online" }
            onlineOnLocal2.formUnion(online.filter { $0.value.host == "local2" }.keys)
            if online.count == 3 && online.allSatisfy({ $0.value.host == "local1" }) { replacedOnLocal1 = true }
            for (process, command) in Self.processes(mentioning: hostDir) {
                let first = firstSeenOnLocal2[process, default: Date()]
                firstSeenOnLocal2[process] = first
                if Date().timeIntervalSince(first) > 1 { runningOnLocal2[process] = command }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(samples >= 5, "local2 stayed down for a while (\(samples) samples)")
        #expect(
            onlineOnLocal2.isEmpty,
            "online on local2 while it was down: \(onlineOnLocal2); their events: \(Self.events(of: onlineOnLocal2, demo))")
        #expect(replacedOnLocal1, "shop's online set whole again on local1 while local2 was down")
        #expect(runningOnLocal2.isEmpty, "executor processes running on the crashed host: \(runningOnLocal2)")

        // Back: every app sees local2 up and removes its offline executors there.
        for (app, db) in Self.apps {
            #expect(
                try eventually(timeout: 20, interval: 0.1) { try demo.hostStatus(app, db, "local2") == "up" },
                "\(app) sees local2 up again: \(demo.log)")
            let cleaned = try eventually(timeout: 20, interval: 0.2) {
                try !demo.executors(app, db).values.contains { $0.host == "local2" && $0.state == "offline" }
            }
            let left = try demo.executors(app, db)
            #expect(cleaned, "\(app): no offline executor left on local2: \(left)")
        }
        #expect(
            try eventually(timeout: 20, interval: 0.2) {
                try demo.executors("shop", 1).values.filter { $0.state == "online" }.count == 3
            })

        // Ctrl-C: every process the demo started stops, including restarted agents and the
        // executors the hooks started in their own sessions.
        var started = Self.descendants(of: pid)
        started.formUnion(Self.processes(mentioning: demoDir).keys)
        #expect(started.count >= 8, "redis, listener, 2 workers, agents, outage, brackets, executors: \(started)")
        ChildProcess.signal(pid, SIGINT)
        #expect(ChildProcess.waitForExit(pid, timeout: 30), "run-demo.sh exits on SIGINT")
        stopped = true
        let allGone = eventually(timeout: 5, interval: 0.1) {
            started.allSatisfy { !ChildProcess.isAlive($0) } && Self.processes(mentioning: demoDir).isEmpty
        }
        let survivors = "\(started.filter { ChildProcess.isAlive($0) }) \(Self.processes(mentioning: demoDir))"
        #expect(allGone, "still running: \(survivors)")
        #expect(!ProbeTarget.accepts(ports[4]) && !ProbeTarget.accepts(ports[0]), "agent and Redis ports closed")
    }
}
