import Foundation
import Shared
import TestSupport

/// A real `mimic-listener` without supervision, whose apps' worker sockets are served by
/// `ScriptedWorker`s of the test: for what the listener does on its link and in its journal.
final class JournalListenerFixture: @unchecked Sendable {
    static let token = "admin-token-0123456789"

    let directory: URL
    let httpPort: Int
    let adminPort: Int
    let tcpPort: Int
    var runDir: String { directory.appendingPathComponent("run").path }
    var journalDir: String { directory.appendingPathComponent("journal").path }
    var configPath: String { directory.appendingPathComponent("listener.yaml").path }
    var logPath: String { directory.appendingPathComponent("listener.log").path }
    private(set) var pid: pid_t = 0

    /// `extra`: more listener.yaml lines (e.g. `journal_retain: 1s`).
    init(apps: [String], extra: String = "", journalDir: String = "./journal") throws {
        directory = try TempDirectory.make(prefix: "mimic-journal-e2e")
        httpPort = try FreePort.take()
        adminPort = try FreePort.take()
        tcpPort = try FreePort.take()
        let fm = FileManager.default
        let appsDir = directory.appendingPathComponent("apps.d").path
        try fm.createDirectory(atPath: appsDir, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        for (index, app) in apps.enumerated() {
            // The listener never talks to Redis; the worker that would is the test's script.
            try """
            app: \(app)
            redis: { host: 127.0.0.1, port: 1, db: \(index + 1) }
            replicas: { online: 1, standby: 0, min_online: 1, retain_dirty: 0 }
            variants:
              - { name: v1, traits: { os: debian } }
            hosts:
            \(AppConfigText.commandHost("local-\(app)", address: "10.8.\(index + 1).1", hooksDir: "/bin"))
            """.write(toFile: appsDir + "/\(app).yaml", atomically: true, encoding: .utf8)
        }
        try """
        http: { host: 127.0.0.1, port: \(httpPort) }
        tcp: { host: 127.0.0.1, port: \(tcpPort) }
        admin: { host: 127.0.0.1, port: \(adminPort) }
        apps_dir: ./apps.d
        run_dir: ./run
        journal_dir: \(journalDir)
        fsync: batch
        max_message_bytes: 4096
        tokens:
          - { name: admin, token: "\(Self.token)", sources: ["*"], apps: ["*"] }
        supervise: { enabled: false }
        \(extra)

        """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func socketPath(_ app: String) -> String { runDir + "/\(app).sock" }

    /// Starts the listener and waits until its HTTP port answers.
    func start(arguments: [String] = [], logFile: String? = nil) throws {
        pid = try ChildProcess.spawn(
            executable: try BuiltProducts.path("mimic-listener"), arguments: ["--config", configPath] + arguments,
            logFile: logFile ?? logPath)
        let ready = try eventually(timeout: 30, interval: 0.1) {
            guard ChildProcess.isAlive(pid) else { throw TestSupportError("listener exited: \(log())") }
            return (try? http("GET", "/healthz").status) == 200
        }
        if !ready { throw TestSupportError("listener not ready: \(log())") }
    }

    /// Runs the listener to completion (it is expected to refuse to start or to do a one-off job).
    func run(arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.runCapturing(
            executable: try BuiltProducts.path("mimic-listener"), arguments: ["--config", configPath] + arguments)
    }

    func terminate() {
        guard pid != 0 else { return }
        ChildProcess.stop(pid, grace: 10)
        pid = 0
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    struct Reply {
        var status: Int
        var body: String
        var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
        }
    }

    func http(_ method: String, _ path: String, body: String? = nil) throws -> Reply {
        var arguments = [
            "-s", "-S", "--max-time", "20", "-X", method, "-w", "\n%{http_code}",
            "http://127.0.0.1:\(ListenerFixture.door(of: path) == .ingress ? httpPort : adminPort)\(path)", "-H",
            "Authorization: Bearer \(Self.token)",
        ]
        if body != nil { arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        let result = try ChildProcess.runCapturing(executable: "/usr/bin/curl", arguments: arguments, stdin: body)
        guard result.status == 0 else { throw TestSupportError("curl \(method) \(path): \(result.stderr)") }
        let newline = result.stdout.lastIndex(of: "\n")!
        return Reply(
            status: Int(result.stdout[result.stdout.index(after: newline)...]) ?? 0,
            body: String(result.stdout[..<newline]))
    }

    func post(_ app: String, ids: [String]) throws -> Reply {
        try http("POST", "/v1/events", body: "[" + ids.map { Self.envelope(app, id: $0) }.joined(separator: ",") + "]")
    }

    static func envelope(_ app: String, id: String) -> String {
        "{\"id\":\"\(id)\",\"app\":\"\(app)\",\"source\":\"admin\",\"type\":\"rotate\",\"body\":{}}"
    }

    /// `GET /v1/apps`, the entry of `app`.
    func status(_ app: String) throws -> [String: Any] {
        let apps = try http("GET", "/v1/apps").json["apps"] as? [[String: Any]] ?? []
        guard let entry = apps.first(where: { $0["app"] as? String == app }) else {
            throw TestSupportError("no app \(app) in /v1/apps")
        }
        return entry
    }

    func ackedSeq(_ app: String) throws -> Int { (try status(app)["last_acked_seq"] as? NSNumber)?.intValue ?? -1 }

    func epoch(_ app: String) throws -> String {
        (try status(app)["journal"] as? [String: Any])?["epoch"] as? String ?? ""
    }

    func metaAcked(_ app: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: journalDir + "/\(app)/meta.json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["acked"] as? NSNumber)?.intValue
    }

    deinit {
        if pid != 0 { ChildProcess.stop(pid, grace: 10) }
        try? FileManager.default.removeItem(at: directory)
    }
}
