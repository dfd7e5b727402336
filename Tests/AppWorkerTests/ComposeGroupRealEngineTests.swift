import Foundation
import Shared
import TestSupport
import Testing

/// examples/compose-group for real: its hooks bring an executor up as a docker-compose project
/// `mimic-{app}-{executor}` of two containers (web and db, host networking) on a real `dockerd`,
/// alone and driven by the real worker. Assertions read `docker ps -a` by the compose project's
/// label, the pages both containers serve, and Redis.
// Alone: dockerd and docker-compose (Python) load both cores while groups start.
@Suite(.serialized, .runsAlone)
struct ComposeGroupRealEngineTests {
    static let hooks = BuiltProducts.packageRoot.appendingPathComponent("examples/compose-group/hooks").path

    /// An engine with both web variants and a db image, and the variants file mapping each
    /// variant to its two images.
    final class Setup: @unchecked Sendable {
        let engine: DockerEngine
        let ports: ClosedRange<Int>
        let variantsFile: String
        let scratch: URL

        init() throws {
            engine = try DockerEngine()
            try RealEngineImages.importAll(into: engine)
            try engine.importImage("mimic-test/db:1", page: "db\n")
            ports = try RealEngineImages.freePortRange(count: 10)
            scratch = try TempDirectory.make(prefix: "mimic-group")
            variantsFile = scratch.appendingPathComponent("variants.env").path
            try "alpha=mimic-test/shop:alpha mimic-test/db:1\nbeta=mimic-test/shop:beta mimic-test/db:1\n"
                .write(toFile: variantsFile, atomically: true, encoding: .utf8)
        }

        func shutdown() {
            engine.shutdown()
            try? FileManager.default.removeItem(at: scratch)
        }

        var range: String { "\(ports.lowerBound)-\(ports.upperBound)" }

        /// Runs a hook as the worker would (argv, no shell); its lock file goes to the scratch dir.
        func hook(_ name: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try ChildProcess.runCapturing(
                executable: "/usr/bin/env",
                arguments: ["TMPDIR=\(scratch.path)", "\(ComposeGroupRealEngineTests.hooks)/\(name).sh"] + arguments)
        }

        func group(_ executor: String, app: String = "shop") throws -> [DockerEngine.Container] {
            try engine.containers(label: "com.docker.compose.project=mimic-\(app)-\(executor)")
                .sorted { $0.name < $1.name }
        }
    }

    @Test func theHooksCreateCleanListAndRemoveAGroupOfTwoContainers() throws {
        let setup = try Setup()
        defer { setup.shutdown() }
        let low = setup.ports.lowerBound
        let create = try setup.hook(
            "create", ["shop", "e1", "alpha", "127.0.0.1", setup.engine.unixEndpoint, setup.range, setup.variantsFile])
        #expect(create.status == 0, "\(create.stderr)")
        #expect(create.stdout.split(separator: "\n").last == "127.0.0.1:\(low)", "the web container's port")
        let group = try setup.group("e1")
        #expect(group.map(\.name) == ["mimic-shop-e1_db_1", "mimic-shop-e1_web_1"])
        #expect(
            group.allSatisfy { $0.running && $0.labels["mimic.app"] == "shop" && $0.labels["mimic.executor"] == "e1" })
        #expect(RealEngineImages.fetch("127.0.0.1:\(low)") == "shop alpha\n")
        #expect(RealEngineImages.fetch("127.0.0.1:\(low + 1)") == "db\n", "the group's database")

        let second = try setup.hook(
            "create", ["shop", "e2", "beta", "127.0.0.1", setup.engine.unixEndpoint, setup.range, setup.variantsFile])
        #expect(second.stdout.split(separator: "\n").last == "127.0.0.1:\(low + 2)", "two ports per group")
        #expect(RealEngineImages.fetch("127.0.0.1:\(low + 2)") == "shop beta\n")
        let list = try setup.hook("list", ["shop", setup.engine.unixEndpoint])
        #expect(list.stdout.split(separator: "\n") == ["e1", "e2"])

        // Both containers of e1 are changed behind the worker's back; clean recreates both.
        for container in group {
            try setup.engine.docker("exec", container.name, "/bin/sh", "-c", "echo tampered > /www/index.html")
        }
        #expect(RealEngineImages.fetch("127.0.0.1:\(low)") == "tampered\n")
        let clean = try setup.hook(
            "clean", ["shop", "e1", "alpha", "127.0.0.1", setup.engine.unixEndpoint, setup.range, setup.variantsFile])
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.split(separator: "\n").last == "127.0.0.1:\(low)", "same ports after clean")
        let cleaned = try setup.group("e1")
        #expect(cleaned.count == 2 && cleaned.allSatisfy { $0.running })
        #expect(Set(cleaned.map(\.id)).isDisjoint(with: group.map(\.id)), "both containers are new")
        #expect(RealEngineImages.fetch("127.0.0.1:\(low)") == "shop alpha\n")
        #expect(RealEngineImages.fetch("127.0.0.1:\(low + 1)") == "db\n")

        let remove = try setup.hook("remove", ["shop", "e1", setup.engine.unixEndpoint])
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(try setup.group("e1").isEmpty)
        #expect(try setup.engine.docker("volume", "ls", "-q").isEmpty)
        #expect(
            try setup.engine.docker("network", "ls", "--format", "{{.Name}}").split(separator: "\n").sorted()
                == ["host", "none"], "no network of the group's project")
        #expect(try setup.hook("remove", ["shop", "e1", setup.engine.unixEndpoint]).status == 0, "gone is fine")
        #expect(try setup.hook("list", ["shop", setup.engine.unixEndpoint]).stdout == "e2\n")
        let unknown = try setup.hook(
            "create", ["shop", "e3", "gamma", "127.0.0.1", setup.engine.unixEndpoint, setup.range, setup.variantsFile])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("variant gamma has no 'WEB_IMAGE DB_IMAGE' line in \(setup.variantsFile)"))
    }

    @Test func theWorkerRunsExecutorsMadeOfTwoContainers() throws {
        let setup = try Setup()
        defer { setup.shutdown() }
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis, online: 2, standby: 1, minOnline: 1, retainDirty: 0)
        defer { worker.terminate() }
        let docker = setup.engine.unixEndpoint
        let tail = [docker, setup.range, setup.variantsFile]
        let yaml = """
            app: shop
            redis: { host: 127.0.0.1, port: \(redis.port), db: 1 }
            replicas: { online: 2, standby: 1, min_online: 1, retain_dirty: 0 }
            variants:
              - { name: alpha, traits: { os: debian, web: busybox } }
              - { name: beta, traits: { os: alpine, web: httpd } }
            hosts:
              - name: node1
                address: 127.0.0.1
                driver: command
                command:
                  timeout: 60s
                  create: ["\(Self.hooks)/create.sh", "{app}", "{executor}", "{variant}", "127.0.0.1", "\(tail.joined(separator: "\", \""))"]
                  clean: ["\(Self.hooks)/clean.sh", "{app}", "{executor}", "{variant}", "127.0.0.1", "\(tail.joined(separator: "\", \""))"]
                  remove: ["\(Self.hooks)/remove.sh", "{app}", "{executor}", "\(docker)"]
                  list: ["\(Self.hooks)/list.sh", "{app}", "\(docker)"]
                probe: { http: "\(setup.engine.pingURL)", interval: 500ms, fall: 3, rise: 2 }
            scheduling: { seed: 42, rotate_every: 0 }
            reconcile_every: 1s

            """
        try yaml.write(toFile: worker.configPath, atomically: true, encoding: .utf8)
        // The hooks' per-engine lock file goes to the scratch dir, not /tmp.
        try worker.start(environment: ["TMPDIR": setup.scratch.path])

        func serving() throws -> Bool {
            let ids = try worker.members("online").union(worker.members("standby"))
            guard try worker.members("online").count == 2, ids.count == 3 else { return false }
            for id in ids {
                let hash = try worker.hash("mimic:shop:exec:\(id)")
                guard let endpoint = hash["endpoint"], let variant = hash["variant"],
                    try setup.group(id).filter({ $0.running }).count == 2,
                    RealEngineImages.fetch(endpoint) == RealEngineImages.page(of: variant)
                else { return false }
            }
            return true
        }
        let containers = { (try? setup.engine.docker("ps", "-a", "--format", "{{.Names}} {{.Status}}")) ?? "?" }
        #expect(
            try eventually(timeout: 90) { try serving() },
            "docker ps -a: \(containers()); worker log: \(worker.log())")
        let ids = try worker.members("online").union(worker.members("standby"))
        #expect(try setup.engine.containers(label: "mimic.app=shop").count == 6, "two containers per executor")

        // An operator sends an online executor to cleaning: both of its containers are new.
        let cleaned = try worker.members("online").sorted()[0]
        let before = Set(try setup.group(cleaned).map(\.id))
        _ = try worker.connect().request(
            deliveryFrame(
                epoch: "ops", seq: 1, source: "admin", type: "set_state",
                body: ["executor": cleaned, "state": "cleaning", "reason": "test"]))
        #expect(
            try eventually(timeout: 60) {
                let now = try setup.group(cleaned)
                guard now.count == 2, now.allSatisfy({ $0.running }), Set(now.map(\.id)).isDisjoint(with: before)
                else { return false }
                return try serving()
            }, "cleaned: both containers recreated; worker log: \(worker.log())")

        // A group the worker does not know (left by an earlier worker): the online check removes
        // it through the remove hook, and nothing of it is left.
        // The hook may fail waiting for its web port: the worker can remove the group first.
        _ = try setup.hook("create", ["shop", "e99", "alpha", "127.0.0.1", docker, setup.range, setup.variantsFile])
        #expect(
            try eventually(timeout: 30) {
                try worker.events().contains {
                    $0["executor"] == "e99" && $0["reason"]?.contains("not recorded; removing it") == true
                } && setup.group("e99").isEmpty
            }, "worker log: \(worker.log())")
        #expect(try setup.engine.containers(label: "mimic.app=shop").count == 6)
        #expect(try setup.engine.docker("volume", "ls", "-q").isEmpty)
        #expect(
            Set(try setup.engine.containers(label: "mimic.app=shop").compactMap { $0.labels["mimic.executor"] }) == ids,
            "only the worker's executors are left")
    }
}
