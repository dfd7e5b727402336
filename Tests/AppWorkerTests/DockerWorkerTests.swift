import Foundation
import TestSupport
import Testing

/// The real worker process driving two docker hosts in bridge mode, each a `DockerEngineStandIn`
/// reached over tcp:// (bridge mode's published ports need the bridge and iptables the test
/// engines run without; DockerRealEngineWorkerTests drives real dockerds with host networking).
/// Assertions read Redis and the stand-ins' containers.
@Suite(.serialized, .startsProcesses)
struct DockerWorkerTests {
    @Test func theWorkerFillsItsPoolsWithLabelledContainersAndTheOnlineCheckRepairsThem() throws {
        let images: Set<String> = ["reg/shop:nginx-php", "reg/shop:apache-java"]
        let engines = [
            "node1": try DockerEngineStandIn(images: images), "node2": try DockerEngineStandIn(images: images),
        ]
        defer { engines.values.forEach { $0.shutdown() } }
        let redis = try RedisServer()
        let worker = try WorkerFixture(redis: redis)
        var yaml = """
            app: shop
            redis: { host: 127.0.0.1, port: \(redis.port), db: 1 }
            replicas: { online: 3, standby: 2, min_online: 2, retain_dirty: 1 }
            variants:
              - { name: nginx-php, traits: { os: debian, web: nginx }, image: reg/shop:nginx-php, ports: [80] }
              - { name: apache-java, traits: { os: centos, web: apache }, image: reg/shop:apache-java, ports: [8080, 8443],
                  env: { JAVA_OPTS: "-Xmx256m" } }
            hosts:

            """
        for name in ["node1", "node2"] {
            yaml += """
                  - name: \(name)
                    address: 127.0.0.1
                    driver: docker
                    docker: tcp://127.0.0.1:\(engines[name]!.port)
                    env: { NODE: \(name) }
                    docker_timeout: 2s
                    ready_timeout: 0s   # the stand-in's containers do not run, so never answer

                """
        }
        yaml += "scheduling: { seed: 42, rotate_every: 0 }\nreconcile_every: 500ms\n"
        try yaml.write(toFile: worker.configPath, atomically: true, encoding: .utf8)
        try worker.start()
        #expect(try eventually { try worker.members("online").count == 3 && worker.members("standby").count == 2 })

        for id in try worker.members("online").union(worker.members("standby")) {
            let hash = try worker.hash("mimic:shop:exec:\(id)")
            let host = try #require(hash["host"])
            let container = try #require(engines[host]!.container(named: "mimic-shop-\(id)"))
            #expect(container.running)
            #expect(container.labels == ["mimic.app": "shop", "mimic.executor": id, "mimic.variant": hash["variant"]!])
            #expect(container.env.contains("NODE=\(host)"))
            let firstPort = hash["variant"] == "nginx-php" ? "80/tcp" : "8080/tcp"
            #expect(hash["endpoint"] == "127.0.0.1:\(container.published[firstPort]!)")
        }
        #expect(engines.values.allSatisfy { !$0.all.isEmpty }, "spread over both hosts")

        // Behind the worker's back: an online container vanishes, a stray one appears.
        let online = try worker.members("online").sorted()[0]
        let host = try #require(try worker.hash("mimic:shop:exec:\(online)")["host"])
        engines[host]!.delete(named: "mimic-shop-\(online)")
        engines[host]!.add(
            name: "mimic-shop-e99", image: "reg/shop:nginx-php",
            labels: ["mimic.app": "shop", "mimic.executor": "e99"])
        #expect(
            eventually(timeout: 5) { engines[host]!.container(named: "mimic-shop-e99") == nil }, "orphan removed")
        #expect(
            try eventually(timeout: 5) {
                try worker.events().contains {
                    $0["executor"] == online && $0["from"] == "online" && $0["to"] == "cleaning"
                        && $0["cause"] == "online-check"
                }
            })
        #expect(
            try eventually(timeout: 5) {
                try worker.members("online").count == 3 && worker.members("standby").count == 2
                    && engines[host]!.container(named: "mimic-shop-\(online)")?.running == true
            }, "the missing executor was recreated from its image and the online set is whole")
    }
}
