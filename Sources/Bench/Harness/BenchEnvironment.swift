import Foundation
import Shared

/// What the bench runs against: a private redis-server, a temp dir with listener.yaml, apps.d and
/// hooks, and the real `mimic-listener` in supervise mode starting one real `mimic-worker` per app.
/// Everything lives under one temp dir and is stopped by pid in `shutdown()`.
final class BenchEnvironment: @unchecked Sendable {
    static let token = "bench-token-0123456789abcdef"

    enum Hooks: String, Sendable {
        /// Hook scripts that start nothing: create prints an endpoint, the others exit 0. The
        /// figures then measure the scheduler, not python start-up.
        case trivial
        /// examples/hooks: real local executor processes (examples/executor/variant_server.py).
        case examples
    }

    /// A Redis the bench starts itself rather than `startRedis()` (the Sentinel topology of the
    /// master-kill figure): the apps' `redis:` block, and the master's port at the start, where
    /// the probes read until a failover moves it.
    struct ExternalRedis: Sendable {
        var masterPort: Int
        var block: @Sendable (_ db: Int) -> String
    }

    struct Options: Sendable {
        var apps: Int
        var binDir: String
        var fsync: String = "batch"
        var hooks: Hooks = .trivial
        var examplesDir: String = "examples"
        var online = 3
        var standby = 2
        var redis: ExternalRedis?
    }

    let options: Options
    let directory: String
    /// One redis-server per 16 apps: the config refuses two apps on the same DB of one server.
    let redisPorts: [Int]
    var redisPort: Int { redisPorts[0] }
    let httpPort: Int
    let tcpPort: Int
    /// The admin door, where the harness reads `/v1/apps/{app}`.
    let adminPort: Int
    let appNames: [String]
    private(set) var redisServers: [ManagedProcess] = []
    var redis: ManagedProcess? { redisServers.first }
    private(set) var listener: ManagedProcess?
    private(set) var listenerStartedAt: UInt64 = 0

    init(_ options: Options) throws {
        self.options = options
        directory = NSTemporaryDirectory() + "mimic-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if let redis = options.redis {
            guard options.apps <= 16 else { throw BenchFailure("at most 16 apps on one external Redis") }
            redisPorts = [redis.masterPort]
        } else {
            redisPorts = try (0..<max(1, (options.apps + 15) / 16)).map { _ in try PosixSocket.freeLoopbackPort() }
        }
        httpPort = try PosixSocket.freeLoopbackPort()
        tcpPort = try PosixSocket.freeLoopbackPort()
        adminPort = try PosixSocket.freeLoopbackPort()
        appNames = (0..<options.apps).map { "b\($0)" }
        try FileManager.default.createDirectory(atPath: directory + "/apps.d", withIntermediateDirectories: true)
        try writeHooks()
        for app in appNames { try writeApp(app, db: db(of: app)) }
        try writeListenerConfig()
    }

    /// Apps get DBs 0...15 of their server in order (the config allows 0...15, one app per DB).
    func db(of app: String) -> Int { (appNames.firstIndex(of: app) ?? 0) % 16 }

    func redisPort(of app: String) -> Int { redisPorts[(appNames.firstIndex(of: app) ?? 0) / 16] }

    var runDir: String { directory + "/run" }

    // MARK: - Start and stop

    func startRedis() throws {
        for (index, port) in redisPorts.enumerated() {
            redisServers.append(
                try ManagedProcess(
                    name: "redis-server", executable: "/usr/bin/redis-server",
                    arguments: [
                        "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", directory,
                    ],
                    logPath: directory + "/redis-\(index).log"))
        }
        for port in redisPorts {
            let deadline = monotonicNanos() + 10_000_000_000
            var up = false
            while !up, monotonicNanos() < deadline {
                if let connection = try? RespConnection(port: port), (try? connection.command(["PING"])) != nil {
                    up = true
                } else {
                    sleepMillis(20)
                }
            }
            if !up { throw BenchFailure("redis-server on port \(port) did not start (see \(directory)/redis-*.log)") }
        }
    }

    func startListener() throws {
        var environment: [String: String] = [:]
        if options.hooks == .examples { environment["MIMIC_EXECUTOR_DIR"] = directory + "/executors" }
        listenerStartedAt = monotonicNanos()
        listener = try ManagedProcess(
            name: "mimic-listener", executable: options.binDir + "/mimic-listener",
            arguments: ["--config", directory + "/listener.yaml", "--log-level", "warning"],
            logPath: directory + "/listener.log", environment: environment, directory: directory)
    }

    /// Waits until every worker is connected to the listener and every app has its full online
    /// set in Redis; returns the seconds since `startListener()`.
    @discardableResult
    func waitReady(timeout: Double = 120) throws -> Double {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        var pending = Set(appNames)
        while !pending.isEmpty {
            guard monotonicNanos() < deadline else {
                throw BenchFailure(
                    "not ready after \(timeout) s: \(pending.sorted().prefix(5)); log: \(tail(of: "listener.log"))")
            }
            guard listener?.isRunning == true else {
                throw BenchFailure("listener exited: \(tail(of: "listener.log"))")
            }
            for app in pending {
                if let probe = try? probe(app), probe.connected, (try? onlineExecutors(app).count) == options.online {
                    pending.remove(app)
                }
            }
            if !pending.isEmpty { sleepMillis(20) }
        }
        return seconds(since: listenerStartedAt)
    }

    func shutdown() {
        listener?.stop(grace: 15)
        if options.hooks == .examples { stopExampleExecutors() }
        for server in redisServers { server.stop(grace: 5) }
        if ProcessInfo.processInfo.environment["MIMIC_BENCH_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    // MARK: - Probes

    func probe(_ app: String) throws -> AppProbe {
        try AppProbe.fetch(app: app, port: adminPort)
    }

    func onlineExecutors(_ app: String) throws -> [String] {
        try executors(app, in: "online")
    }

    /// The executors of one state, from the worker's committed sets in Redis.
    func executors(_ app: String, in state: String) throws -> [String] {
        let connection = try RespConnection(port: redisPort(of: app), db: db(of: app))
        let members = try connection.command(["SMEMBERS", "mimic:\(app):state:\(state)"]).array ?? []
        return members.compactMap(\.string).sorted()
    }

    /// Worker pids as the supervisor reports them.
    func workerPids() throws -> [String: Int32] {
        var pids: [String: Int32] = [:]
        for app in appNames { if let pid = try probe(app).pid { pids[app] = pid } }
        return pids
    }

    func tail(of file: String, bytes: Int = 1500) -> String {
        guard let text = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8) else { return "-" }
        return String(text.suffix(bytes))
    }

    // MARK: - Files

    private func writeHooks() throws {
        let hooks = directory + "/hooks"
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        let scripts = [
            "create.sh": "#!/bin/sh\necho \"127.0.0.1:$(( 20000 + $$ % 20000 ))\"\n",
            "ok.sh": "#!/bin/sh\nexit 0\n",
        ]
        for (name, text) in scripts {
            try text.write(toFile: hooks + "/" + name, atomically: true, encoding: .utf8)
            chmod(hooks + "/" + name, 0o755)
        }
    }

    private func hookCommands() -> String {
        switch options.hooks {
        case .trivial:
            let hooks = directory + "/hooks"
            return """
                      create: ["\(hooks)/create.sh", "{app}", "{executor}", "{variant}", "{host}"]
                      clean: ["\(hooks)/ok.sh", "{app}", "{executor}", "{variant}", "{host}"]
                      remove: ["\(hooks)/ok.sh", "{app}", "{executor}", "{host}"]
                      list: ["\(hooks)/ok.sh", "{app}", "{host}"]
                """
        case .examples:
            let hooks = URL(fileURLWithPath: options.examplesDir).standardizedFileURL.path + "/hooks"
            return """
                      create: ["\(hooks)/create.sh", "{app}", "{executor}", "{variant}", "{host}"]
                      clean: ["\(hooks)/clean.sh", "{app}", "{executor}", "{variant}", "{host}"]
                      remove: ["\(hooks)/remove.sh", "{app}", "{executor}", "{host}"]
                      list: ["\(hooks)/list.sh", "{app}", "{host}"]
                """
        }
    }

    private func writeApp(_ app: String, db: Int) throws {
        let index = appNames.firstIndex(of: app) ?? 0
        let redis = options.redis?.block(db) ?? "{ host: 127.0.0.1, port: \(redisPort(of: app)), db: \(db) }"
        let yaml = """
            app: \(app)
            redis: \(redis)
            replicas: { online: \(options.online), standby: \(options.standby), min_online: \(max(1, options.online - 1)), retain_dirty: 0 }
            variants:
              - { name: nginx-php, traits: { os: debian, web: nginx, lang: php, db: mysql } }
              - { name: apache-java, traits: { os: centos, web: apache, lang: java, db: postgres } }
              - { name: caddy-go, traits: { os: alpine, web: caddy, lang: go, db: sqlite } }
            hosts:
              - name: local-\(app)
                address: 10.77.\(index / 250).\(index % 250 + 1)
                driver: command
                command:
                  timeout: 10s
            \(hookCommands())
            scheduling: { seed: \(db), rotate_every: 0 }
            reconcile_every: 0

            """
        try yaml.write(toFile: directory + "/apps.d/\(app).yaml", atomically: true, encoding: .utf8)
    }

    private func writeListenerConfig() throws {
        let yaml = """
            http: { host: 127.0.0.1, port: \(httpPort) }
            tcp: { host: 127.0.0.1, port: \(tcpPort) }
            admin: { host: 127.0.0.1, port: \(adminPort) }
            apps_dir: ./apps.d
            run_dir: ./run
            journal_dir: ./journal
            fsync: \(options.fsync)
            tokens:
              - { name: bench, token: "\(Self.token)", sources: ["*"], apps: ["*"] }
            supervise: { enabled: true, worker: "\(options.binDir)/mimic-worker" }

            """
        try yaml.write(toFile: directory + "/listener.yaml", atomically: true, encoding: .utf8)
    }

    /// The example hooks start executors with setsid, so they outlive the workers; stop exactly
    /// the pids they recorded under this run's MIMIC_EXECUTOR_DIR.
    private func stopExampleExecutors() {
        let root = directory + "/executors"
        guard let files = FileManager.default.enumerator(atPath: root) else { return }
        for case let file as String in files where file.hasSuffix(".pid") {
            if let text = try? String(contentsOfFile: root + "/" + file, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(pid, SIGTERM)
            }
        }
    }
}
