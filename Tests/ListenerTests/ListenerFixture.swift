import Foundation
import Shared
import TestSupport
import Testing

/// A real `mimic-listener` process with its listener.yaml, apps.d, hook scripts and a real Redis;
/// the listener supervises real `mimic-worker` processes.
final class ListenerFixture: @unchecked Sendable {
    static let adminToken = "admin-token-0123456789"
    static let wafToken = "waf-token-0123456789"
    static let shopOnlyToken = "shop-only-token-0123"
    /// Configured only as its sha256 (`token_sha256:`), scoped to left_bracket on shop.
    static let hashedToken = "hashed-token-0123456789"
    static let hashedTokenSHA256 = "b22fd458dbe2426bebe59cfafe4c46e013df3efd439e4d91cda767ac3052ddd0"
    static var allTokens: [String] { [adminToken, wafToken, shopOnlyToken, hashedToken] }

    let redis: RedisServer
    /// The address of the listener's doors: loopback, or its `NetworkLab` host's.
    let host: String
    /// What runs the listener on another host (`NetworkLab.launcher(on:)`), or nothing.
    let launcher: [String]
    let directory: URL
    let httpPort: Int
    let tcpPort: Int
    let adminPort: Int
    /// Doors started with TLS (`tls:` blocks given to init), reached with https and this CA.
    let tlsDoors: Set<String>
    let caFile: String?
    var appsDir: String { directory.appendingPathComponent("apps.d").path }
    var runDir: String { directory.appendingPathComponent("run").path }
    var journalDir: String { directory.appendingPathComponent("journal").path }
    var configPath: String { directory.appendingPathComponent("listener.yaml").path }
    var logPath: String { directory.appendingPathComponent("listener.log").path }
    var hooksDir: String { directory.appendingPathComponent("hooks").path }
    private(set) var pid: pid_t = 0
    private var dbs: [String: Int] = [:]
    /// The apps' `redis:` line for a DB (the Sentinel form, say); nil: `redis`'s host and port.
    private let redisBlock: (@Sendable (_ db: Int) -> String)?

    init(
        apps: [String], maxBacklogBytes: Int = 1 << 30, maxMessageBytes: Int = 4096, fsync: String = "batch",
        redisAppendOnly: Bool = false, probePorts: [String: Int] = [:], workerExecutable: String? = nil,
        adminHost: String? = nil, extraConfig: String = "", extraTokens: String = "",
        tls: [String: String] = [:], caFile: String? = nil, appExtra: [String: String] = [:],
        sharedRedis: RedisServer? = nil, host: String = "127.0.0.1", launcher: [String] = [],
        redisBlock: (@Sendable (_ db: Int) -> String)? = nil
    ) throws {
        self.redisBlock = redisBlock
        self.host = host
        self.launcher = launcher
        tlsDoors = Set(tls.keys)
        self.caFile = caFile
        func door(_ name: String) -> String { tls[name].map { ", tls: \($0)" } ?? "" }
        // Cluster tests: several instances, one Redis, the same apps in the same DBs.
        redis = try sharedRedis ?? RedisServer(appendOnly: redisAppendOnly)
        directory = try TempDirectory.make(prefix: "mimic-listener")
        httpPort = try FreePort.take()
        tcpPort = try FreePort.take()
        adminPort = try FreePort.take()
        let fm = FileManager.default
        try fm.createDirectory(atPath: appsDir, withIntermediateDirectories: true)
        let hooks = directory.appendingPathComponent("hooks").path
        try fm.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        let scripts = [
            // `hooks/hang` present: the hook hangs (the fault battery's "hook hanging"), killed by the timeout.
            "create.sh":
                "#!/bin/sh\n[ -f \"$(dirname \"$0\")/hang\" ] && sleep 60\necho \"127.0.0.1:$(( 20000 + $$ % 20000 ))\"\n",
            "clean.sh": "#!/bin/sh\nexit 0\n",
            "remove.sh": "#!/bin/sh\nexit 0\n",
            "list.sh": "#!/bin/sh\nexit 0\n",
        ]
        for (name, text) in scripts {
            let path = hooks + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        for (index, app) in apps.enumerated() {
            try addApp(app, db: index + 1, probePort: probePorts[app], extra: appExtra[app] ?? "")
        }
        let worker = try workerExecutable ?? BuiltProducts.path("mimic-worker")
        let yaml = """
            http: { host: \(host), port: \(httpPort)\(door("http")) }
            tcp: { host: \(host), port: \(tcpPort)\(door("tcp")) }
            admin: { host: \(adminHost ?? host), port: \(adminPort)\(door("admin")) }
            apps_dir: ./apps.d
            run_dir: ./run
            journal_dir: ./journal
            fsync: \(fsync)
            max_message_bytes: \(maxMessageBytes)
            max_backlog_bytes: \(maxBacklogBytes)
            tokens:
              - { name: admin, token: "\(Self.adminToken)", sources: ["*"], apps: ["*"] }
              - { name: waf-1, token: "\(Self.wafToken)", sources: [waf], apps: ["*"] }
              - { name: shop-ops, token: "\(Self.shopOnlyToken)", sources: [admin], apps: [shop] }
              - { name: shop-lb, token_sha256: "\(Self.hashedTokenSHA256)", sources: [left_bracket], apps: [shop] }
            \(extraTokens)
            supervise: { enabled: true, worker: "\(worker)" }
            \(extraConfig)

            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func db(_ app: String) -> Int { dbs[app] ?? 0 }

    /// `probePort`: the app's one host is probed over TCP there (a ProbeTarget the test can kill).
    func addApp(_ app: String, db: Int, probePort: Int? = nil, extra: String = "") throws {
        dbs[app] = db
        let hooks = directory.appendingPathComponent("hooks").path
        let probe = probePort.map { "{ tcp: \"127.0.0.1:\($0)\", interval: 200ms, fall: 3, rise: 2 }" }
        let yaml = """
            app: \(app)
            \(redisBlock?(db) ?? "redis: { host: \(redis.host), port: \(redis.port), db: \(db) }")
            replicas: { online: 1, standby: 1, min_online: 1, retain_dirty: 0 }
            variants:
              - { name: v1, traits: { os: debian } }
              - { name: v2, traits: { os: centos } }
            hosts:
            \(AppConfigText.commandHost("local-\(app)", address: "10.9.\(db).1", hooksDir: hooks, timeout: "5s", probe: probe))
            scheduling: { seed: 7, rotate_every: 0 }
            reconcile_every: 0
            \(extra)

            """
        try yaml.write(toFile: appsDir + "/\(app).yaml", atomically: true, encoding: .utf8)
    }

    func removeApp(_ app: String) throws {
        try FileManager.default.removeItem(atPath: appsDir + "/\(app).yaml")
    }

    /// Starts the listener and waits until every app's worker is connected.
    /// `executable`: another copy of `mimic-listener` (default: the built one). `environment`
    /// reaches the workers too (they inherit the listener's).
    func start(apps: [String], executable: String? = nil, environment: [String: String]? = nil) throws {
        let command = launcher + [try executable ?? BuiltProducts.path("mimic-listener"), "--config", configPath]
        pid = try ChildProcess.spawn(
            executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
            logFile: logPath)
        let ready = try eventually(timeout: 30, interval: 0.1) {
            guard ChildProcess.isAlive(pid) else { throw TestSupportError("listener exited: \(log())") }
            guard let status = try? appsStatus() else { return false }
            return apps.allSatisfy { app in (status[app]?["worker"] as? [String: Any])?["connected"] as? Bool == true }
        }
        if !ready { throw TestSupportError("listener or workers not ready: \(log())") }
    }

    func kill9() {
        ChildProcess.kill(pid)
        pid = 0
    }

    /// SIGTERM, SIGKILL after 15 s; true when SIGTERM was enough.
    func terminate() -> Bool {
        let exited = ChildProcess.stop(pid, grace: 15)
        pid = 0
        return exited
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    // MARK: HTTP (curl)

    struct HTTPReply {
        var status: Int
        var body: String
        var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
        }
    }

    /// The door a request goes to: ingress for what senders use, admin for everything else.
    enum Door { case ingress, admin }

    static func door(of path: String) -> Door {
        path.hasPrefix("/v1/events") || path == "/healthz" ? .ingress : .admin
    }

    func http(
        _ method: String, _ path: String, body: String? = nil, token: String? = adminToken, door: Door? = nil,
        timeoutSeconds: Int = 20
    ) throws -> HTTPReply {
        let chosen = door ?? Self.door(of: path)
        let port = chosen == .ingress ? httpPort : adminPort
        let tls = tlsDoors.contains(chosen == .ingress ? "http" : "admin")
        var arguments = [
            "-s", "-S", "--max-time", "\(timeoutSeconds)", "-X", method, "-w", "\n%{http_code}",
            "\(tls ? "https" : "http")://\(host):\(port)\(path)",
        ]
        if tls, let caFile { arguments += ["--cacert", caFile] }
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if body != nil { arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        let result = try ChildProcess.runCapturing(
            executable: "/usr/bin/curl", arguments: arguments, stdin: body ?? nil)
        guard result.status == 0 else { throw TestSupportError("curl \(method) \(path) failed: \(result.stderr)") }
        var text = result.stdout
        let newline = text.lastIndex(of: "\n")!
        let status = Int(text[text.index(after: newline)...]) ?? 0
        text = String(text[..<newline])
        return HTTPReply(status: status, body: text)
    }

    func appsStatus() throws -> [String: [String: Any]] {
        // The admin token opens reads on an admin door away from loopback too.
        let reply = try http("GET", "/v1/apps", token: Self.adminToken)
        guard reply.status == 200, let apps = reply.json["apps"] as? [[String: Any]] else {
            throw TestSupportError("GET /v1/apps: \(reply.status)")
        }
        var result: [String: [String: Any]] = [:]
        for app in apps { result[app["app"] as! String] = app }
        return result
    }

    func workerPID(_ app: String) throws -> Int? {
        ((try appsStatus()[app]?["worker"] as? [String: Any])?["pid"] as? NSNumber)?.intValue
    }

    func ackedSeq(_ app: String) throws -> Int {
        (try appsStatus()[app]?["last_acked_seq"] as? NSNumber)?.intValue ?? 0
    }

    // MARK: Redis

    func appliedSeq(_ app: String) throws -> Int {
        let items = try redis.cliRaw(["HGET", "mimic:\(app):applied", "seq"], db: db(app))
        return items.first.flatMap { Int($0) } ?? 0
    }

    /// Events stream entries as field maps.
    func events(_ app: String) throws -> [[String: String]] {
        try redis.streamEntries("mimic:\(app):events", db: db(app))
    }

    /// How many events name one of `ids` as their cause.
    func eventsCaused(_ app: String, ids: Set<String>) throws -> Int {
        try events(app).filter { $0["cause"].map(ids.contains) ?? false }.count
    }

    /// Transitions caused by one message id that appear more than once.
    func repeatedTransitions(_ app: String, ids: Set<String>) throws -> [String] {
        var seen: [String: Int] = [:]
        for event in try events(app) {
            guard let cause = event["cause"], ids.contains(cause) else { continue }
            let key = "\(cause) \(event["executor"] ?? "") \(event["from"] ?? "")->\(event["to"] ?? "")"
            seen[key, default: 0] += 1
        }
        return seen.filter { $0.value > 1 }.map(\.key).sorted()
    }

    deinit {
        ChildProcess.stop(pid, grace: 10)
        // Workers adopted across a listener kill -9 are not our children: stop whatever serves a socket.
        if let names = try? FileManager.default.contentsOfDirectory(atPath: runDir) {
            for name in names where name.hasSuffix(".sock") {
                if let client = try? LineSocket(path: runDir + "/" + name, timeout: 0.2),
                    let status = try? client.request(["op": "status"], timeout: 1),
                    let pid = (status["pid"] as? NSNumber)?.int32Value
                {
                    Foundation.kill(pid, SIGKILL)
                }
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Envelopes for the tests, as JSON text.
enum Messages {
    /// A health report for an executor the worker does not know: applied (seq moves), no transition.
    static func health(_ app: String, id: String) -> String {
        "{\"id\":\"\(id)\",\"app\":\"\(app)\",\"source\":\"left_bracket\",\"type\":\"health\",\"time\":\"2026-11-26T10:00:00.000Z\",\"body\":{\"executor\":\"ghost\",\"status\":\"up\",\"latency_ms\":3}}"
    }

    /// An operator rotation: moves executors, so it leaves transitions in the events stream.
    static func rotate(_ app: String, id: String) -> String {
        "{\"id\":\"\(id)\",\"app\":\"\(app)\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}"
    }

    static func mixed(_ app: String, id: String, index: Int) -> String {
        index % 500 == 250 ? rotate(app, id: id) : health(app, id: id)
    }
}
