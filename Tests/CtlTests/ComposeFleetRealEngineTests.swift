import Foundation
import Shared
import TestSupport
import Testing

/// The generated deployment for real (issue 19, item 4): images built by scripts/local-image.sh
/// from the release binaries, `mimicctl compose --network host` for two apps, and
/// `docker-compose -f fleet -f shop -f blog up -d` on a real dockerd. One app's worker is
/// restarted with docker-compose and then killed with kill -9 inside its container while
/// messages keep coming: the other app's container and worker are untouched, every accepted
/// message is applied once, and the operator's tools work on the socket volume from the host.
// Alone: dockerd, the image import and docker-compose (Python) load both cores.
@Suite(.serialized, .runsAlone)
struct ComposeFleetRealEngineTests {
    /// JSON numbers as Foundation decodes them on Linux (NSNumber or Int).
    static func number(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue ?? value as? Int }

    static let token = "fleet-ops-token-0123456789"
    static let project = "mimicfleet"

    /// The engine, the images, the ports and the generated deploy directory of one test.
    final class Fleet: @unchecked Sendable {
        let engine: DockerEngine
        let scratch: URL
        let redisPort: Int
        let httpPort: Int
        let tcpPort: Int
        let adminPort: Int
        var deploy: String { scratch.appendingPathComponent("deploy").path }
        var files: [String] { ["fleet", "shop", "blog"].map { "\(deploy)/\($0).compose.yml" } }
        private var sent: [String: Int] = ["shop": 0, "blog": 0]

        init() throws {
            engine = try DockerEngine()
            scratch = try TempDirectory.make(prefix: "mimic-fleet")
            let ports = try RealEngineImages.freePortRange(count: 4)
            (redisPort, httpPort, tcpPort, adminPort) = (
                ports.lowerBound, ports.lowerBound + 1, ports.lowerBound + 2, ports.lowerBound + 3
            )
        }

        /// `docker-compose down -v` first: the engine's shutdown removes containers, not volumes.
        func shutdown() {
            _ = try? compose(["down", "-v", "--timeout", "5"])
            engine.shutdown()
            try? FileManager.default.removeItem(at: scratch)
        }

        /// scripts/local-image.sh as an operator runs it, from the release binaries the suites use.
        func buildImages() throws {
            let binDir = URL(fileURLWithPath: try BuiltProducts.path("mimic-listener")).deletingLastPathComponent().path
            let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/local-image.sh").path
            let result = try ChildProcess.runCapturing(
                executable: "/usr/bin/env",
                arguments: [
                    "TMPDIR=\(scratch.path)",
                    "PATH=\(URL(fileURLWithPath: DockerEngine.client).deletingLastPathComponent().path):/usr/bin:/bin",
                    script, "--docker-host", engine.unixEndpoint, "--bin-dir", binDir,
                    "--tag", "mimic-scheduler:local", "--redis-tag", "mimic-redis:local", "--busybox",
                    DockerEngine.busybox,
                    "--strip",
                ])
            guard result.status == 0 else {
                throw TestSupportError("local-image.sh exited \(result.status): \(result.stderr)")
            }
        }

        /// Two apps whose one host's hooks are busybox sh stand-ins inside the worker's container:
        /// an executor is a file under /tmp/executors, so create, list and remove agree.
        func writeConfigs() throws {
            let apps = scratch.appendingPathComponent("apps.d")
            try FileManager.default.createDirectory(at: apps, withIntermediateDirectories: true)
            let listener = """
                http: { host: 127.0.0.1, port: \(httpPort) }
                tcp: { host: 127.0.0.1, port: \(tcpPort) }
                admin: { host: 127.0.0.1, port: \(adminPort) }
                apps_dir: ./apps.d
                fsync: batch
                tokens:
                  - { name: ops, token: "\(ComposeFleetRealEngineTests.token)", sources: ["*"], apps: ["*"] }

                """
            try listener.write(
                to: scratch.appendingPathComponent("listener.yaml"), atomically: true, encoding: .utf8)
            for (index, app) in ["shop", "blog"].enumerated() {
                let hook = { (name: String, script: String) in
                    #"      \#(name): ["/bin/sh", "-c", "\#(script)", "\#(name)", "{app}", "{executor}"]"#
                }
                let yaml = """
                    app: \(app)
                    redis: { host: 127.0.0.1, port: 6379, db: \(index + 1) }
                    replicas: { online: 1, standby: 1, min_online: 1, retain_dirty: 0 }
                    variants:
                      - { name: v1, traits: { os: debian } }
                      - { name: v2, traits: { os: centos } }
                    hosts:
                      - name: local
                        address: 127.0.0.1
                        driver: command
                        command:
                          timeout: 10s
                    \(hook("create", "mkdir -p /tmp/executors/$1 && touch /tmp/executors/$1/$2 && echo 127.0.0.1:$((20000 + $$ % 20000))"))
                    \(hook("clean", "touch /tmp/executors/$1/$2"))
                    \(hook("remove", "rm -f /tmp/executors/$1/$2"))
                    \(hook("list", "ls /tmp/executors/$1 2>/dev/null; exit 0"))
                    scheduling: { seed: 7, rotate_every: 0 }
                    reconcile_every: 0

                    """
                try yaml.write(to: apps.appendingPathComponent("\(app).yaml"), atomically: true, encoding: .utf8)
            }
        }

        func generate() throws -> CtlResult {
            try Ctl.run([
                "compose", "--apps", scratch.appendingPathComponent("apps.d").path, "--out", deploy,
                "--templates", BuiltProducts.packageRoot.appendingPathComponent("compose-templates").path,
                "--listener", scratch.appendingPathComponent("listener.yaml").path, "--network", "host",
                "--redis-port", "\(redisPort)", "--image", "mimic-scheduler:local", "--redis-image",
                "mimic-redis:local",
                "--stop-grace", "10s",
            ])
        }

        /// Debian's docker-compose 1.29 against this engine, with the three files.
        @discardableResult
        func compose(_ arguments: [String]) throws -> String {
            let result = try ChildProcess.runCapturing(
                executable: "/usr/bin/env", arguments: composeArguments(arguments))
            guard result.status == 0 else {
                throw TestSupportError(
                    "docker-compose \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
            }
            return result.stdout
        }

        func composeArguments(_ arguments: [String]) -> [String] {
            [
                "DOCKER_HOST=\(engine.unixEndpoint)", "/usr/bin/docker-compose", "-p",
                ComposeFleetRealEngineTests.project,
            ]
                + files.flatMap { ["-f", $0] } + arguments
        }

        // MARK: The listener

        /// POSTs `count` list messages to `app`, each adding its own blacklist URL (so Redis shows
        /// every applied message), and counts what the listener accepted. As an operator: WAF list
        /// adds are limited to 600 per app and minute, and this test sends more.
        func send(_ app: String, count: Int) throws {
            let first = sent[app, default: 0]
            let envelopes = (first..<(first + count)).map { index in
                #"{"id":"\#(app)-\#(index)","app":"\#(app)","source":"admin","type":"list","body":{"list":"blacklist","op":"add","url":"/\#(app)/\#(index)"}}"#
            }
            let response = try BlockingHTTPClient(timeout: 20).request(
                "POST", "http://127.0.0.1:\(httpPort)/v1/events",
                headers: [
                    ("Authorization", "Bearer \(ComposeFleetRealEngineTests.token)"),
                    ("Content-Type", "application/json"),
                ],
                body: Array("[\(envelopes.joined(separator: ","))]".utf8))
            guard response.status == 202, ComposeFleetRealEngineTests.number(response.object?["accepted"]) == count
            else {
                throw TestSupportError(
                    "POST /v1/events for \(app): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
            }
            sent[app] = first + count
        }

        func sentCount(_ app: String) -> Int { sent[app, default: 0] }

        func apps() throws -> [String: AppStatus] {
            let response = try BlockingHTTPClient(timeout: 5).request("GET", "http://127.0.0.1:\(adminPort)/v1/apps")
            guard response.status == 200 else { throw TestSupportError("GET /v1/apps: \(response.status)") }
            let list = try JSONDecoder().decode(AppStatusList.self, from: Data(response.body))
            return Dictionary(uniqueKeysWithValues: list.apps.map { ($0.app, $0) })
        }

        /// Every message sent so far journaled, delivered, acknowledged and in Redis.
        func caughtUp(_ app: String) -> Bool {
            guard let status = try? apps()[app], status.worker.connected else { return false }
            let count = UInt64(sentCount(app))
            return status.journal.lastSeq == count && status.lastAckedSeq == count
                && (try? appliedSeq(app)) == sentCount(app)
        }

        // MARK: Redis, the containers, the socket volume

        func redis(_ arguments: [String], db: Int) throws -> String {
            // The generated fleet's Redis always has a password, in deploy/redis.conf.
            try ChildProcess.run(
                executable: "/usr/bin/env",
                arguments: [
                    "REDISCLI_AUTH=\(try redisPassword())", "/usr/bin/redis-cli", "-p", "\(redisPort)", "-n", "\(db)",
                    "--raw",
                ] + arguments
            ).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func redisPassword() throws -> String {
            let conf = try String(contentsOfFile: deploy + "/redis.conf", encoding: .utf8)
            guard let line = conf.split(separator: "\n").first(where: { $0.hasPrefix("requirepass ") }) else {
                throw TestSupportError("deploy/redis.conf has no requirepass")
            }
            return String(line.dropFirst("requirepass ".count)).trimmingCharacters(
                in: CharacterSet(charactersIn: "\" "))
        }

        /// The uid a process runs as, from the kernel.
        func uid(ofHostPID pid: Int) -> Int? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
            else { return nil }
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
        }

        func db(_ app: String) -> Int { app == "shop" ? 1 : 2 }

        func appliedSeq(_ app: String) throws -> Int? {
            Int(try redis(["HGET", "mimic:\(app):applied", "seq"], db: db(app)))
        }

        func blacklist(_ app: String) throws -> Set<String> {
            Set(
                try redis(["SMEMBERS", "mimic:\(app):list:blacklist"], db: db(app)).split(separator: "\n").map(
                    String.init))
        }

        func containerName(_ service: String) -> String { "\(ComposeFleetRealEngineTests.project)_\(service)_1" }

        struct Instance: Equatable, CustomStringConvertible {
            var containerID: String
            var startedAt: String
            var restarts: Int
            /// The worker's pid on the host: the child of the container's init (`init: true`).
            var workerPID: Int
            var description: String {
                "\(containerID.prefix(12)) started \(startedAt) restarts \(restarts) worker \(workerPID)"
            }
        }

        /// The worker container as the engine and /proc see it; nil while it has no worker process.
        func instance(_ service: String) throws -> Instance? {
            let fields = try engine.docker(
                "inspect", "--format", "{{.Id}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Pid}}",
                containerName(service)
            ).split(separator: " ").map(String.init)
            guard fields.count == 4, let restarts = Int(fields[2]), let initPID = Int(fields[3]), initPID > 0,
                let children = try? String(
                    contentsOfFile: "/proc/\(initPID)/task/\(initPID)/children", encoding: .utf8),
                let worker = children.split(separator: " ").first.flatMap({ Int($0) })
            else { return nil }
            return Instance(containerID: fields[0], startedAt: fields[1], restarts: restarts, workerPID: worker)
        }

        func socketVolume() throws -> String {
            try engine.docker("volume", "inspect", "--format", "{{.Mountpoint}}", "mimic-run")
        }

        /// The worker's `status` answer over its socket in the volume, from the host.
        func status(_ app: String) throws -> [String: Any] {
            try LineSocket(path: "\(try socketVolume())/\(app).sock", timeout: 2).request(["op": "status"], timeout: 5)
        }

        /// The pid `status` reports is the worker's in its container's pid namespace.
        func namespacePID(ofHostPID pid: Int) -> Int? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") })
            else { return nil }
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { Int($0) }
        }
    }

    @Test func theFleetSurvivesARestartAndAKillOfOneWorkerAndTheOtherAppIsUntouched() throws {
        let fleet = try Fleet()
        defer { fleet.shutdown() }
        let context = {
            "\(fleet.engine.diagnostics())\ndocker-compose logs:\n\((try? fleet.compose(["logs", "--tail", "15"])) ?? "?")"
        }
        try fleet.buildImages()
        try fleet.writeConfigs()
        let generated = try fleet.generate()
        #expect(generated.status == 0, "\(generated.stderr)")
        try fleet.compose(["up", "-d"])

        let running = eventually(timeout: 60, interval: 0.2) {
            guard let apps = try? fleet.apps() else { return false }
            return ["shop", "blog"].allSatisfy { apps[$0]?.worker.connected == true }
                && (try? fleet.instance("worker-shop")) != nil && (try? fleet.instance("worker-blog")) != nil
        }
        try #require(running, "listener and both workers up: \(context())")
        // Each process of the fleet its own uid (group 10000): what SO_PEERCRED tells apart.
        let users = [
            "redis": "redis", "listener": "10000:10000", "worker-shop": "10101:10000", "worker-blog": "10102:10000",
        ]
        for (service, user) in users {
            let mode = try fleet.engine.docker(
                "inspect", "--format", "{{.HostConfig.NetworkMode}} {{.Config.User}}", fleet.containerName(service))
            #expect(mode == "host \(user)", "\(service)")
        }
        #expect(fleet.uid(ofHostPID: try #require(try fleet.instance("worker-shop")).workerPID) == 10101)
        #expect(fleet.uid(ofHostPID: try #require(try fleet.instance("worker-blog")).workerPID) == 10102)
        // Every message below is applied only because the worker saw the listener's uid on its
        // socket (listener_uid 10000) and the listener each worker's (worker_uid 10100 + db).
        let shopConfig = try ConfigLoader.loadApp(path: fleet.deploy + "/apps.d/shop.yaml")
        #expect(shopConfig.listenerUID == 10000 && shopConfig.workerUID == 10101)
        #expect(shopConfig.redis.password == (try fleet.redisPassword()))

        for _ in 0..<3 {
            try fleet.send("shop", count: 20)
            try fleet.send("blog", count: 20)
        }
        #expect(eventually(timeout: 30) { fleet.caughtUp("shop") && fleet.caughtUp("blog") }, "\(context())")
        let blog = try #require(try fleet.instance("worker-blog"))
        let blogStatusPID = Self.number(try fleet.status("blog")["pid"])
        let shopBefore = try #require(try fleet.instance("worker-shop"))

        // `docker-compose restart worker-shop` while both apps keep receiving messages: the
        // listener journals shop's while its worker is down and replays them once it is back.
        let restart = try ChildProcess.spawn(
            executable: "/usr/bin/env", arguments: fleet.composeArguments(["restart", "worker-shop"]),
            logFile: fleet.scratch.appendingPathComponent("restart.log").path)
        let restartDeadline = Date().addingTimeInterval(60)
        repeat {
            try fleet.send("shop", count: 10)
            try fleet.send("blog", count: 10)
            Thread.sleep(forTimeInterval: 0.1)
        } while ChildProcess.isAlive(restart) && Date() < restartDeadline
        ChildProcess.stop(restart)
        #expect(
            ChildProcess.exitCode(restart) == 0,
            "restart: \((try? String(contentsOfFile: fleet.scratch.appendingPathComponent("restart.log").path, encoding: .utf8)) ?? "")"
        )
        try fleet.send("shop", count: 10)
        #expect(
            eventually(timeout: 60, interval: 0.2) { fleet.caughtUp("shop") && fleet.caughtUp("blog") },
            "after restart: \(context())")
        let shopRestarted = try #require(try fleet.instance("worker-shop"))
        #expect(shopRestarted.containerID == shopBefore.containerID, "restarted, not recreated")
        #expect(shopRestarted.workerPID != shopBefore.workerPID && shopRestarted.startedAt != shopBefore.startedAt)

        // kill -9 of the worker's process inside its container (its pid there, from `status`):
        // the container's init exits with it and the restart policy starts it again.
        let shopPID = try #require(Self.number(try fleet.status("shop")["pid"]))
        #expect(fleet.namespacePID(ofHostPID: shopRestarted.workerPID) == shopPID)
        try fleet.engine.docker("exec", fleet.containerName("worker-shop"), "kill", "-9", "\(shopPID)")
        for _ in 0..<10 {
            try fleet.send("shop", count: 10)
            try fleet.send("blog", count: 10)
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(
            eventually(timeout: 60, interval: 0.2) { fleet.caughtUp("shop") && fleet.caughtUp("blog") },
            "after kill -9: \(context())")
        let shopKilled = try #require(try fleet.instance("worker-shop"))
        #expect(shopKilled.containerID == shopBefore.containerID)
        #expect(shopKilled.restarts == shopRestarted.restarts + 1, "brought back by its restart policy")
        #expect(shopKilled.workerPID != shopRestarted.workerPID)

        // Blog: the same container, started once, the same worker process throughout.
        #expect(try fleet.instance("worker-blog") == blog)
        #expect(Self.number(try fleet.status("blog")["pid"]) == blogStatusPID)

        // Nothing lost, nothing applied twice: every accepted message is one seq, acknowledged,
        // and its URL is on the app's blacklist.
        for app in ["shop", "blog"] {
            let count = fleet.sentCount(app)
            #expect(try fleet.appliedSeq(app) == count, "\(app)")
            #expect(try fleet.blacklist(app) == Set((0..<count).map { "/\(app)/\($0)" }), "\(app)")
            let status = try #require(try fleet.apps()[app])
            #expect(status.lastAckedSeq == UInt64(count) && status.journal.backlogMessages == 0, "\(app)")
        }
        #expect(try fleet.redis(["XLEN", "mimic:shop:deadletter"], db: 1) == "0")

        // The operator's tools on the socket volume, from the host.
        let volume = try fleet.socketVolume()
        let sockets = try Ctl.run(["sockets", "--run-dir", volume, "--json"])
        #expect(sockets.status == 0, "\(sockets.stderr)")
        let entries = (try sockets.json()["sockets"] as? [[String: Any]]) ?? []
        #expect(entries.map { $0["app"] as? String } == ["blog", "shop"])
        #expect(entries.allSatisfy { $0["state"] as? String == "listening" }, "\(sockets.stdout)")
        // The owners as the host sees them (the workers bound /run/mimic/<app>.sock in their containers).
        #expect(
            entries.map { Self.number($0["owner_pid"]) } == [blog.workerPID, shopKilled.workerPID], "\(sockets.stdout)")
        #expect(
            entries.allSatisfy { (($0["status"] as? [String: Any])?["redis"] as? String) == "up" }, "\(sockets.stdout)")
        let table = try Ctl.run(["sockets", "--run-dir", volume])
        #expect(table.lines.first?.hasPrefix("APP") == true && table.lines.count == 3, "\(table.stdout)")
        let socat = try ChildProcess.runCapturing(
            executable: "/usr/bin/socat", arguments: ["-t", "2", "-", "UNIX-CONNECT:\(volume)/shop.sock"],
            stdin: "{\"op\":\"status\"}\n")
        let answer = try JSONSerialization.jsonObject(with: Data(socat.stdout.utf8)) as? [String: Any]
        #expect(
            answer?["app"] as? String == "shop" && answer?["redis"] as? String == "up",
            "socat: \(socat.stdout) \(socat.stderr)")
        #expect(Self.number((answer?["applied"] as? [String: Any])?["seq"]) == fleet.sentCount("shop"))

        try fleet.compose(["down", "-v", "--timeout", "10"])
        #expect(try fleet.engine.docker("ps", "-aq").isEmpty)
        #expect(try fleet.engine.docker("volume", "ls", "-q").isEmpty)
    }
}
