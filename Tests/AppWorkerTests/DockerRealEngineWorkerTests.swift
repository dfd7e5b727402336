import Foundation
import Shared
import TestSupport
import Testing

/// The real `mimic-worker` (the release build under `make test`, via MIMIC_BIN_DIR) driving two
/// docker hosts, each its own real `dockerd` with host networking. Assertions read Redis,
/// `docker ps -a` with labels, and the executors' pages over HTTP.
// Alone: two engines and their containers start while the worker's probes run on 200 ms timers.
@Suite(.serialized, .runsAlone)
struct DockerRealEngineWorkerTests {
    final class Fleet: @unchecked Sendable {
        let engines: [String: DockerEngine]
        let redis: RedisServer
        let worker: WorkerFixture

        init(online: Int = 2, standby: Int = 1, retainDirty: Int = 0, reconcileEvery: String = "500ms") throws {
            var engines: [String: DockerEngine] = [:]
            for name in ["node1", "node2"] {
                let engine = try DockerEngine()
                engines[name] = engine
                try RealEngineImages.importAll(into: engine)
            }
            self.engines = engines
            redis = try RedisServer()
            worker = try WorkerFixture(
                redis: redis, online: online, standby: standby, minOnline: 1, retainDirty: retainDirty)
            var yaml = """
                app: shop
                redis: { host: 127.0.0.1, port: \(redis.port), db: 1 }
                replicas: { online: \(online), standby: \(standby), min_online: 1, retain_dirty: \(retainDirty) }
                variants:
                  - { name: alpha, traits: { os: debian, web: busybox }, image: "mimic-test/shop:alpha" }
                  - { name: beta, traits: { os: alpine, web: httpd }, image: "mimic-test/shop:beta", command: ["/serve", "{port}"] }
                hosts:

                """
            var ranges: [ClosedRange<Int>] = []
            for name in ["node1", "node2"] {
                let engine = engines[name]!
                // Both engines share this machine's network: their ranges must not overlap.
                let ports = try RealEngineImages.freePortRange(count: 10, avoiding: ranges)
                ranges.append(ports)
                yaml += """
                      - name: \(name)
                        address: 127.0.0.1
                        driver: docker
                        docker: \(engine.unixEndpoint)
                        docker_network: host
                        ports: \(ports.lowerBound)-\(ports.upperBound)
                        docker_timeout: 20s
                        probe: { http: "\(engine.pingURL)", interval: 200ms, fall: 3, rise: 2 }

                    """
            }
            yaml += "scheduling: { seed: 42, rotate_every: 0 }\nreconcile_every: \(reconcileEvery)\n"
            try yaml.write(toFile: worker.configPath, atomically: true, encoding: .utf8)
        }

        func shutdown() {
            worker.terminate()
            engines.values.forEach { $0.shutdown() }
        }

        func executor(_ id: String) throws -> [String: String] { try worker.hash("mimic:shop:exec:\(id)") }

        /// Every online and standby executor has its running container on its host, labelled with
        /// its id and variant, and its endpoint serves its variant's page.
        func allServing() throws -> Bool {
            let ids = try worker.members("online").union(worker.members("standby"))
            for id in ids {
                let hash = try executor(id)
                guard let host = hash["host"], let engine = engines[host], let endpoint = hash["endpoint"],
                    let container = try engine.container(named: "mimic-shop-\(id)"), container.running,
                    container.labels["mimic.app"] == "shop", container.labels["mimic.executor"] == id,
                    container.labels["mimic.variant"] == hash["variant"],
                    endpoint == "127.0.0.1:\(container.labels["mimic.port"] ?? "?")",
                    RealEngineImages.fetch(endpoint) == hash["variant"].flatMap(RealEngineImages.page)
                else { return false }
            }
            return true
        }

        func filled(online: Int = 2, standby: Int = 1) throws -> Bool {
            try worker.members("online").count == online && worker.members("standby").count == standby
                && allServing()
        }

        /// For a failed expectation: the worker log's last lines (without the lifecycle's long
        /// debug lines, which repeat the whole config) and each engine's containers and log tail.
        /// CI shows only the start of a long message, so the useful part has to be short.
        func diagnostics() -> String {
            let log = worker.log().split(separator: "\n").filter { !$0.contains("sl-service") }.suffix(30)
            var text = "worker log tail:\n" + log.joined(separator: "\n")
            for (name, engine) in engines.sorted(by: { $0.key < $1.key }) {
                text += "\n\(name) " + engine.diagnostics()
            }
            return text
        }

        /// Containers of the app on every engine, by name.
        func containerNames() throws -> Set<String> {
            Set(try engines.values.flatMap { try $0.containers(label: "mimic.app=shop").map(\.name) })
        }
    }

    @Test func theWorkerRunsItsExecutorsAsContainersAndTheOnlineCheckRepairsThem() throws {
        let fleet = try Fleet()
        defer { fleet.shutdown() }
        try fleet.worker.start()
        // One container per executor, and nothing else: an executor retired to spread the pools
        // over both hosts (node2's probe may rise after the first creates) is removed after the
        // pools are whole again, so this waits for it too.
        func executorNames() throws -> Set<String> {
            Set(try fleet.worker.members("online").union(fleet.worker.members("standby")).map { "mimic-shop-\($0)" })
        }
        #expect(
            try eventually(timeout: 60) { try fleet.filled() && fleet.containerNames() == executorNames() },
            "containers \((try? fleet.containerNames()) ?? []); \(fleet.diagnostics())")
        let ids = try fleet.worker.members("online").union(fleet.worker.members("standby"))
        #expect(try Set(ids.map { try fleet.executor($0)["host"] ?? "" }).count == 2, "spread over both hosts")

        // Killed behind the worker's back: the container exists, stopped; the online check notices.
        let killed = try fleet.worker.members("online").sorted()[0]
        let host = try #require(try fleet.executor(killed)["host"])
        let engine = try #require(fleet.engines[host])
        try engine.docker("kill", "mimic-shop-\(killed)")
        // And a stray container with the app's label that the worker never made.
        try engine.docker(
            "create", "--name", "stray", "--network", "host", "--label", "mimic.app=shop",
            "--label", "mimic.executor=e99", "mimic-test/shop:alpha")
        #expect(
            try eventually(timeout: 15) {
                try fleet.worker.events().contains {
                    $0["executor"] == killed && $0["from"] == "online" && $0["to"] == "cleaning"
                        && $0["cause"] == "online-check"
                }
            }, "\(fleet.diagnostics())")
        #expect(try eventually(timeout: 15) { try engine.container(named: "stray") == nil }, "the stray one is removed")
        #expect(
            try eventually(timeout: 30) {
                try fleet.filled() && engine.container(named: "mimic-shop-\(killed)")?.running == true
            }, "the killed executor is recreated from its image and serves again; \(fleet.diagnostics())")
    }

    @Test func anEngineThatStopsTakesItsHostDownAndOneThatComesBackIsCleanedUp() throws {
        // No periodic check within the test: the listing at host up alone must find the purged
        // standbys' containers. (A periodic check's remove sent while the stopping dockerd tore its
        // containers down once left one "Removal In Progress" for good, an engine fault.)
        let fleet = try Fleet(reconcileEvery: "10m")
        defer { fleet.shutdown() }
        try fleet.worker.start()
        #expect(try eventually(timeout: 60) { try fleet.filled() }, "\(fleet.diagnostics())")
        let onNode1 = try fleet.worker.members("online").union(fleet.worker.members("standby"))
            .filter { try fleet.executor($0)["host"] == "node1" }
        try #require(!onNode1.isEmpty, "the worker spreads executors over both hosts")
        let node1 = try #require(fleet.engines["node1"])

        node1.stop()
        #expect(
            try eventually(timeout: 15) { try fleet.worker.hash("mimic:shop:host:node1")["status"] == "down" },
            "the probe of /_ping fails; \(fleet.diagnostics())")
        #expect(
            try eventually(timeout: 60) {
                try fleet.filled()
                    && fleet.worker.members("online").union(fleet.worker.members("standby")).allSatisfy {
                        try fleet.executor($0)["host"] == "node2"
                    }
            }, "replaced on node2; \(fleet.diagnostics())")
        #expect(
            try onNode1.allSatisfy { id in
                let state = try fleet.executor(id)["state"]
                return state == nil || state == "offline"
            }, "node1's executors are offline or purged")

        try node1.start()
        #expect(
            try eventually(timeout: 15) { try fleet.worker.hash("mimic:shop:host:node1")["status"] == "up" })
        #expect(
            try eventually(timeout: 60) {
                let names = Set(try node1.containers(label: "mimic.app=shop").map(\.name))
                return try fleet.worker.members("offline").isEmpty
                    && onNode1.allSatisfy { !names.contains("mimic-shop-\($0)") }
            }, "its old containers are removed once it is back; \(fleet.diagnostics())")
        #expect(try eventually(timeout: 60) { try fleet.filled() }, "\(fleet.diagnostics())")
    }

    /// Issue 19 item 5: a file written into an online executor's container shows up in the evidence
    /// the worker keeps once three dissents make it dirty; the event references the manifest,
    /// `mimicctl forensics` prints it, and the executor is cleaned only after the capture.
    @Test func aDirtyExecutorsFilesystemChangesAreKeptBeforeItIsCleaned() throws {
        // Three online: one dissenter of two would be "no majority", which suspects the URL instead.
        let fleet = try Fleet(online: 3, standby: 1, retainDirty: 1)
        defer { fleet.shutdown() }
        try fleet.worker.start()
        #expect(try eventually(timeout: 60) { try fleet.filled(online: 3, standby: 1) }, "\(fleet.diagnostics())")
        let online = try fleet.worker.members("online").sorted()
        let suspect = online[0]
        let host = try #require(try fleet.executor(suspect)["host"])
        let engine = try #require(fleet.engines[host])
        let container = "mimic-shop-\(suspect)"
        try engine.docker("exec", container, "sh", "-c", "echo implant > /tmp/implant.sh; echo planted >&2")

        let socket = try fleet.worker.connect()
        let at = Int64(Date().timeIntervalSince1970 * 1000)
        for seq in 1...3 {
            try socket.sendJSON(
                deliveryFrame(
                    epoch: "ep-forensics", seq: seq, id: "dissent-\(seq)", at: at + Int64(seq) * 100,
                    source: "right_bracket", type: "arbitration",
                    body: ["url": "/login", "executors": online, "dissenters": [suspect]]))
        }
        #expect(
            try eventually(timeout: 15) { try fleet.worker.members("dirty") == [suspect] }, "\(fleet.diagnostics())")

        var event: [String: String] = [:]
        #expect(
            try eventually(timeout: 60) {
                guard let found = try fleet.worker.events().last(where: { $0["kind"] == "forensics" }) else {
                    return false
                }
                event = found
                return true
            }, "a forensics event; \(fleet.diagnostics())")
        #expect(event["executor"] == suspect && event["cause"] == "dissent-3", "\(event)")
        #expect(event["status"] == "complete", "\(event)")
        let manifestPath = try #require(event["manifest"])
        let forensicsDir = fleet.worker.runDir + "/forensics"
        #expect(manifestPath.hasPrefix(forensicsDir + "/shop/\(suspect)/"), "the default dir is <run_dir>/forensics")

        let manifest = try ForensicsManifest.decode(Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        #expect(manifest.status == .complete, "\(manifest.problems)")
        #expect(manifest.cause == "dissent-3" && manifest.executor == suspect && manifest.driver == "docker")
        #expect(
            Set(manifest.artifacts.map(\.name)).isSuperset(of: ["changes.json", "inspect.json", "logs.txt", "top.json"]
            ),
            "\(manifest.artifacts.map(\.name))")
        let directory = (manifestPath as NSString).deletingLastPathComponent
        let changes = try FilesystemChange.decodeList(
            Data(contentsOf: URL(fileURLWithPath: directory + "/changes.json")))
        #expect(changes.contains(FilesystemChange(kind: 1, path: "/tmp/implant.sh")), "\(changes)")
        let changesEntry = try #require(manifest.artifacts.first { $0.name == "changes.json" })
        let onDisk = try ChildProcess.run(executable: "/usr/bin/sha256sum", arguments: [directory + "/changes.json"])
        #expect(onDisk.hasPrefix(changesEntry.sha256), "the manifest's hash is the file's")

        let printed = try ChildProcess.runCapturing(
            executable: try BuiltProducts.path("mimicctl"),
            arguments: ["forensics", "shop", suspect, "--apps-dir", fleet.worker.directory.path])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(
            printed.stdout.contains("A /tmp/implant.sh") && printed.stdout.contains("complete"), "\(printed.stdout)")

        // Released by the operator: the clean replaces the container; the evidence stays.
        try socket.sendJSON(
            deliveryFrame(
                epoch: "ep-forensics", seq: 4, id: "release-1", source: "admin", type: "set_state",
                body: ["executor": suspect, "state": "cleaning", "reason": "analysed"]))
        #expect(
            try eventually(timeout: 60) {
                try fleet.executor(suspect)["state"] == "standby" || fleet.executor(suspect)["state"] == "online"
            }, "\(fleet.diagnostics())")
        let cleaned = try engine.docker("exec", container, "sh", "-c", "ls /tmp")
        #expect(!cleaned.contains("implant.sh"), "restored from the clean image")
        #expect(FileManager.default.fileExists(atPath: manifestPath))
    }
}
