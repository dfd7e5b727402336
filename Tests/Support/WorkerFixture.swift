import Foundation
import Shared

/// One app's worker as a real process: its YAML in a temp dir, hooks from examples/hooks that
/// start real local executor processes, a real Redis, and the socket path to talk to it.
public final class WorkerFixture: @unchecked Sendable {
    public let app: String
    public let db: Int
    public let redis: RedisServer
    public let directory: URL
    public let configPath: String
    public let runDir: String
    public let executorDir: String
    public private(set) var pid: pid_t = 0
    public var socketPath: String { runDir + "/\(app).sock" }
    public var logPath: String { directory.appendingPathComponent("worker.log").path }

    /// `scheduling` is appended to the app file as is, so it may carry other top-level keys too.
    /// `redisBlock` replaces the `redis:` line (a Sentinel form); `redis` is then only where the
    /// fixture's own reads go.
    public init(
        app: String = "shop", db: Int = 1, redis: RedisServer, online: Int = 3, standby: Int = 2,
        minOnline: Int = 2, retainDirty: Int = 1, hooksDir: String? = nil, hookTimeout: String = "10s",
        probes: [String: String] = [:],
        scheduling: String = "scheduling: { seed: 42, abnormal: { dissents: 3, window: 60s } }",
        redisBlock: String? = nil
    ) throws {
        self.app = app
        self.db = db
        self.redis = redis
        directory = try TempDirectory.make(prefix: "mimic-worker-\(app)")
        runDir = directory.appendingPathComponent("run").path
        executorDir = directory.appendingPathComponent("executors").path
        configPath = directory.appendingPathComponent("\(app).yaml").path
        let hooks = hooksDir ?? BuiltProducts.packageRoot.appendingPathComponent("examples/hooks").path
        var yaml = """
            app: \(app)
            \(redisBlock ?? "redis: { host: 127.0.0.1, port: \(redis.port), db: \(db) }")
            replicas: { online: \(online), standby: \(standby), min_online: \(minOnline), retain_dirty: \(retainDirty) }
            variants:
              - { name: nginx-php, traits: { os: debian, web: nginx, lang: php } }
              - { name: apache-java, traits: { os: centos, web: apache, lang: java } }
              - { name: caddy-go, traits: { os: alpine, web: caddy, lang: go } }
            hosts:

            """
        for host in ["local1", "local2"] {
            // `probes` maps a host to its probe flow mapping, e.g. `{ tcp: "127.0.0.1:9101", interval: 200ms }`.
            yaml += AppConfigText.commandHost(host, hooksDir: hooks, timeout: hookTimeout, probe: probes[host])
        }
        yaml += scheduling + "\n"
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts `mimic-worker` and waits until its socket answers `ping`. `environment` is added to
    /// the worker's (its hooks inherit it); `arguments` go after the fixture's own (`--fence 5`).
    public func start(environment: [String: String] = [:], arguments: [String] = []) throws {
        try launch(environment: environment, arguments: arguments)
        let ready = try eventually(timeout: 20) {
            guard ChildProcess.isAlive(pid) else { throw TestSupportError("worker exited: \(log())") }
            guard let client = try? LineSocket(path: socketPath, timeout: 0.2) else { return false }
            return (try? client.request(["op": "ping"], timeout: 2))?["pong"] as? Bool == true
        }
        if !ready { throw TestSupportError("worker did not answer ping: \(log())") }
    }

    /// Starts `mimic-worker` and returns at once; the caller waits for what it expects (a socket
    /// that answers, or, with fault injection in `environment`, the process's death).
    public func launch(environment: [String: String] = [:], arguments: [String] = []) throws {
        pid = try ChildProcess.spawn(
            executable: try BuiltProducts.path("mimic-worker"),
            arguments: ["--config", configPath, "--run-dir", runDir, "--log-level", "debug"] + arguments,
            environment: environment.merging(["MIMIC_EXECUTOR_DIR": executorDir]) { _, fixture in fixture },
            logFile: logPath)
    }

    public var isAlive: Bool { pid > 0 && ChildProcess.isAlive(pid) }

    public func kill9() {
        ChildProcess.kill(pid)
        pid = 0
    }

    /// SIGTERM (the worker's graceful stop), SIGKILL if it has not ended within 10 s.
    public func terminate() {
        ChildProcess.stop(pid, grace: 10)
        pid = 0
    }

    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    public func connect() throws -> LineSocket {
        try LineSocket(path: socketPath)
    }

    public func status() throws -> [String: Any] {
        try connect().request(["op": "status"])
    }

    public func members(_ state: String) throws -> Set<String> {
        // redis-cli --raw prints an empty line for an empty set; ids are never empty.
        Set(try redis.cliRaw(["SMEMBERS", "mimic:\(app):state:\(state)"], db: db).filter { !$0.isEmpty })
    }

    public func hash(_ key: String) throws -> [String: String] {
        try redis.cliRaw(["HGETALL", key], db: db).fieldPairs
    }

    public func appliedSeq() throws -> Int? {
        try hash("mimic:\(app):applied")["seq"].flatMap { Int($0) }
    }

    /// Kills every stand-in executor process the hooks started, and every hook still running.
    public func killExecutors() {
        // A hook the worker started survives the worker (kill -9, or a stop mid-hook) and may
        // start its executor after the pkill below: hooks and executors both inherit
        // MIMIC_EXECUTOR_DIR, so those are killed by their environment first (a make test run
        // once kept one executor alive that way). Twice: a hook may fork between the passes.
        for _ in 0..<2 { killProcesses(withEnvironment: "MIMIC_EXECUTOR_DIR=" + executorDir) }
        // Every stand-in executor carries its port file, under executorDir, on its command line:
        // this also catches one a hook started after its pid file was read (or never wrote one).
        _ = try? ChildProcess.runCapturing(executable: "/usr/bin/pkill", arguments: ["-9", "-f", executorDir + "/"])
        guard let enumerator = FileManager.default.enumerator(atPath: executorDir) else { return }
        for case let file as String in enumerator where file.hasSuffix(".pid") {
            if let text = try? String(contentsOfFile: executorDir + "/" + file, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                Foundation.kill(pid, SIGKILL)
            }
        }
    }

    /// SIGKILL to every process whose environment holds `entry` exactly (a `NAME=value` line).
    private func killProcesses(withEnvironment entry: String) {
        let needle = Array(entry.utf8)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for name in names {
            // Not the worker itself: only what its hooks started.
            guard let process = pid_t(name), process != getpid(), process != pid,
                let environment = FileManager.default.contents(atPath: "/proc/\(name)/environ"),
                environment.split(separator: 0).contains(where: { $0.elementsEqual(needle) })
            else { continue }
            Foundation.kill(process, SIGKILL)
        }
    }

    deinit {
        terminate()
        killExecutors()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A delivery frame line of the app socket (DESIGN section 5).
/// `at`: the accept time the listener would stamp (unix ms); nil leaves it out, as a record of
/// journal format 1 does.
public func deliveryFrame(
    epoch: String, seq: Int, app: String = "shop", id: String? = nil, at: Int64? = nil,
    source: String, type: String, body: [String: Any]
) -> [String: Any] {
    var frame: [String: Any] = [
        "epoch": epoch, "seq": seq,
        "msg": ["id": id ?? "msg-\(seq)", "app": app, "source": source, "type": type, "body": body] as [String: Any],
    ]
    if let at { frame["at"] = at }
    return frame
}

extension WorkerFixture {
    /// The app's events stream, oldest first, each entry as its field map.
    public func events() throws -> [[String: String]] {
        try redis.streamEntries("mimic:\(app):events", db: db)
    }
}
