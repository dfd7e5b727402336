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

        init(online: Int = 2, standby: Int = 1) throws {
            var engines: [String: DockerEngine] = [:]
            for name in ["node1", "node2"] {
                let engine = try DockerEngine()
                engines[name] = engine
                try RealEngineImages.importAll(into: engine)
            }
            self.engines = engines
            redis = try RedisServer()
            worker = try WorkerFixture(redis: redis, online: online, standby: standby, minOnline: 1, retainDirty: 0)
            var yaml = """
                app: shop
                redis: { host: 127.0.0.1, port: \(redis.port), db: 1 }
                replicas: { online: \(online), standby: \(standby), min_online: 1, retain_dirty: 0 }
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
            yaml += "scheduling: { seed: 42, rotate_every: 0 }\nreconcile_every: 500ms\n"
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
        let fleet = try Fleet()
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
}
