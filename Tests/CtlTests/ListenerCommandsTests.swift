import Foundation
import Shared
import TestSupport
import Testing

/// `status`, `worker restart` and `send` against a real `mimic-listener` supervising a real
/// `mimic-worker` (example hooks, real Redis), driven only through the built `mimicctl`.
@Suite(.serialized, .startsProcesses) final class ListenerCommandsTests {
    static let opsToken = "ops-token-0123456789"
    static let wafToken = "waf-token-0123456789"

    let redis: RedisServer
    let directory: URL
    let httpPort: Int
    let adminPort: Int
    var pid: pid_t = 0
    var config: String { directory.appendingPathComponent("listener.yaml").path }
    var runDir: String { directory.appendingPathComponent("run").path }
    var appsDir: String { directory.appendingPathComponent("apps.d").path }
    var url: String { "http://127.0.0.1:\(httpPort)" }
    var adminURL: String { "http://127.0.0.1:\(adminPort)" }

    init() throws {
        redis = try RedisServer()
        directory = try TempDirectory.make(prefix: "ctl-listener")
        httpPort = try FreePort.take()
        let tcpPort = try FreePort.take()
        adminPort = try FreePort.take()
        try FileManager.default.createDirectory(atPath: appsDir, withIntermediateDirectories: true)
        let hooks = BuiltProducts.packageRoot.appendingPathComponent("examples/hooks").path
        var app = """
            app: shop
            redis: { host: 127.0.0.1, port: \(redis.port), db: 1 }
            replicas: { online: 2, standby: 1, min_online: 1, retain_dirty: 0 }
            variants:
              - { name: nginx-php, traits: { os: debian, web: nginx } }
              - { name: apache-java, traits: { os: centos, web: apache } }
            scheduling: { seed: 7, rotate_every: 0 }
            hosts:

            """
        for host in ["local1", "local2"] {
            app += AppConfigText.commandHost(host, hooksDir: hooks)
        }
        try app.write(toFile: appsDir + "/shop.yaml", atomically: true, encoding: .utf8)
        try """
        http: { host: 127.0.0.1, port: \(httpPort) }
        tcp: { host: 127.0.0.1, port: \(tcpPort) }
        admin: { host: 127.0.0.1, port: \(adminPort) }
        apps_dir: ./apps.d
        run_dir: ./run
        journal_dir: ./journal
        tokens:
          - { name: ops, token: "\(Self.opsToken)", sources: ["*"], apps: ["*"] }
          - { name: waf-1, token: "\(Self.wafToken)", sources: [waf], apps: [shop] }
        supervise: { enabled: true, worker: "\(try BuiltProducts.path("mimic-worker"))" }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        pid = try ChildProcess.spawn(
            executable: try BuiltProducts.path("mimic-listener"), arguments: ["--config", config],
            environment: ["MIMIC_EXECUTOR_DIR": directory.appendingPathComponent("executors").path],
            logFile: directory.appendingPathComponent("listener.log").path)
        let ready = try eventually(timeout: 30, interval: 0.1) {
            guard ChildProcess.isAlive(pid) else { throw TestSupportError("listener exited: \(log())") }
            let status = try Ctl.run(["status", "--config", config, "--json"])
            guard status.status == 0, let apps = try? status.json()["apps"] as? [[String: Any]] else { return false }
            return (apps.first?["worker"] as? [String: Any])?["connected"] as? Bool == true
        }
        if !ready { throw TestSupportError("listener or worker not ready: \(log())") }
    }

    deinit {
        ChildProcess.stop(pid, grace: 15)
        let executors = directory.appendingPathComponent("executors").path
        // Every stand-in executor has its port file under `executors/` on its command line: this
        // also catches one a hook started after its pid file was read (it outlived a run once).
        _ = try? ChildProcess.runCapturing(executable: "/usr/bin/pkill", arguments: ["-9", "-f", executors + "/"])
        for file in (FileManager.default.enumerator(atPath: executors)?.allObjects as? [String]) ?? []
        where file.hasSuffix(".pid") {
            if let text = try? String(contentsOfFile: executors + "/" + file, encoding: .utf8),
                let child = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                Foundation.kill(child, SIGKILL)
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    func log() -> String {
        (try? String(contentsOfFile: directory.appendingPathComponent("listener.log").path, encoding: .utf8)) ?? ""
    }

    private func workerPID() throws -> Int? {
        let apps = try Ctl.run(["status", "--admin", adminURL, "--json"]).json()["apps"] as? [[String: Any]]
        return ((apps?.first?["worker"] as? [String: Any])?["pid"] as? NSNumber)?.intValue
    }

    @Test func statusShowsTheAppAndItsWorker() throws {
        let pid = try #require(try workerPID())
        let table = try Ctl.run(["status", "--config", config])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.lines.first?.split(separator: " ", omittingEmptySubsequences: true).first == "APP")
        let row = try #require(table.lines.dropFirst().first).split(separator: " ", omittingEmptySubsequences: true)
            .map(String.init)
        // One machine: the owner is the listener's `instance`, the host name by default.
        #expect(Array(row.prefix(5)) == ["shop", ListenerConfig.defaultInstance, "up", "running", "\(pid)"])
        // The owner of the socket, as the kernel sees it, is the pid the listener reports.
        let sockets = try Ctl.run(["sockets", "--config", config, "--json"]).json()["sockets"] as? [[String: Any]]
        #expect((sockets?.first?["owner_pid"] as? NSNumber)?.intValue == pid)
    }

    @Test func workerRestartGivesANewProcessAndNeedsAnAdminToken() throws {
        let before = try #require(try workerPID())
        let refused = try Ctl.run(["worker", "restart", "shop", "--admin", adminURL, "--token", Self.wafToken])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.hasPrefix("mimicctl: listener refused to restart the worker of app shop: 403 "),
            "\(refused.stderr)")
        #expect(try workerPID() == before)

        let restarted = try Ctl.run(["worker", "restart", "shop", "--config", config, "--token-name", "ops"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let after = try #require(try workerPID())
        #expect(after != before)
        #expect(restarted.stdout == "shop: restart done; worker running, pid \(after)\n")
        #expect(!ChildProcess.isAlive(pid_t(before)))
        let pong = eventually(timeout: 15) { (try? Ctl.run(["ping", "shop", "--run-dir", runDir]))?.status == 0 }
        #expect(pong)

        let unknown = try Ctl.run(["worker", "stop", "blog", "--config", config, "--token", Self.opsToken])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("404"))
    }

    @Test func sendDeliversAMessageThatTakesEffect() throws {
        let online = try #require(
            eventually(timeout: 30) {
                (try? redis.cliRaw(["SCARD", "mimic:shop:state:online"], db: 1))?.first == "2"
            } ? try redis.cliRaw(["SMEMBERS", "mimic:shop:state:online"], db: 1).sorted().first : nil)
        let sent = try Ctl.run([
            "send", "--config", config, "--token-name", "ops", "--app", "shop", "--source", "admin",
            "--type", "set_state", "--id", "ctl-send-1",
            "--body", #"{"executor":"\#(online)","state":"offline","reason":"mimicctl test"}"#,
        ])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout == "accepted 1\n")
        let offline = eventually(timeout: 15) {
            (try? redis.cliRaw(["SISMEMBER", "mimic:shop:state:offline", online], db: 1))?.first == "1"
        }
        #expect(offline)
        let events = try Ctl.run(["events", "shop", "--config", config, "--count", "50", "--json"]).jsonLines()
        #expect(events.contains { ($0["fields"] as? [String: String])?["cause"] == "ctl-send-1" })

        // From stdin, an array; and a refusal is exit 1 with the listener's reason.
        let batch = try Ctl.run(
            ["send", "--listener", url, "--token", Self.opsToken],
            stdin:
                #"[{"id":"p1","app":"shop","source":"admin","type":"pause","body":{}},{"id":"r1","app":"shop","source":"admin","type":"resume","body":{}}]"#
        )
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect(batch.stdout == "accepted 2\n")
        let forbidden = try Ctl.run([
            "send", "--listener", url, "--token", Self.wafToken, "--app", "shop", "--source", "admin", "--type",
            "rotate",
        ])
        #expect(forbidden.status == 1)
        #expect(forbidden.stderr.hasPrefix("mimicctl: listener refused the message: 403 "), "\(forbidden.stderr)")
        let json = try Ctl.run([
            "send", "--listener", url, "--token", Self.opsToken, "--app", "shop", "--source", "admin", "--type",
            "rotate", "--json",
        ])
        #expect(json.status == 0)
        #expect(try json.json()["status"] as? Int == 202)
    }
}
