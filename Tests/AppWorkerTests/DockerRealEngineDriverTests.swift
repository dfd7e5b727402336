import AsyncHTTPClient
import Foundation
import Shared
import TestSupport
import Testing

@testable import AppWorker

/// The docker driver against a real `dockerd` (DockerEngine: its own data root and socket, host
/// networking only, images imported from busybox). The faults a real engine cannot be made to
/// show (an API answering 500, a call that hangs) stay with `DockerEngineStandIn` in
/// DockerDriverTests. Assertions read `docker ps -a`/`docker inspect` and the executors' pages.
// Alone: dockerd, containerd and the containers load both cores while they start.
@Suite(.serialized, .runsAlone)
struct DockerRealEngineDriverTests {
    /// One engine with both variant images, and a driver for app `app` on host `node1` with host
    /// networking over `ports`.
    struct Setup {
        let engine: DockerEngine
        let ports: ClosedRange<Int>

        init(portCount: Int = 10) throws {
            engine = try DockerEngine()
            try RealEngineImages.importAll(into: engine)
            ports = try RealEngineImages.freePortRange(count: portCount)
        }

        func driver(
            app: String = "shop", missingImage: Bool = false, readyTimeout: Duration = HostConfig.defaultReadyTimeout
        ) -> DockerDriver {
            let host = HostConfig(
                name: "node1", address: "127.0.0.1", driver: .docker, docker: engine.unixEndpoint,
                env: ["NODE": "node1"], dockerTimeout: .seconds(30), dockerNetwork: .host, ports: ports,
                readyTimeout: readyTimeout)
            let alpha = Variant(
                name: "alpha", traits: [:], image: missingImage ? "mimic-test/shop:missing" : "mimic-test/shop:alpha")
            // beta's port arrives as an argument only: its command proves `{port}` is substituted.
            let beta = Variant(name: "beta", traits: [:], image: "mimic-test/shop:beta", command: ["/serve", "{port}"])
            // Servers that take a while to listen, never listen, or exit at once.
            let slow = Variant(
                name: "slow", traits: [:], image: "mimic-test/shop:alpha",
                command: ["/bin/sh", "-c", "sleep 2; exec /serve {port}"])
            let mute = Variant(
                name: "mute", traits: [:], image: "mimic-test/shop:alpha", command: ["/bin/sleep", "600"])
            let dying = Variant(
                name: "dying", traits: [:], image: "mimic-test/shop:alpha", command: ["/bin/sh", "-c", "exit 3"])
            return DockerDriver(
                app: app, host: host,
                variants: ["alpha": alpha, "beta": beta, "slow": slow, "mute": mute, "dying": dying],
                http: HTTPClient.shared)
        }

        func inspect(_ container: String, _ format: String) throws -> String {
            try engine.docker("inspect", "--format", format, container)
        }
    }

    static func target(_ executor: String, _ variant: String = "alpha", app: String = "shop") -> DriverTarget {
        DriverTarget(app: app, executor: executor, variant: variant, host: "node1")
    }

    /// The page an endpoint serves, waiting up to 5 s for the server in the container to listen.
    static func page(at endpoint: String) -> String? {
        var body: String?
        _ = eventually(timeout: 5, interval: 0.1) {
            body = RealEngineImages.fetch(endpoint)
            return body != nil
        }
        return body
    }

    @Test func createRunsLabelledContainersOnTheHostNetworkOnePortEach() async throws {
        let setup = try Setup()
        defer { setup.engine.shutdown() }
        let driver = setup.driver()
        let first = try await driver.create(Self.target("e1", "alpha"))
        let second = try await driver.create(Self.target("e2", "beta"))
        let low = setup.ports.lowerBound
        #expect(first == "127.0.0.1:\(low)")
        #expect(second == "127.0.0.1:\(low + 1)")
        #expect(Self.page(at: first) == "shop alpha\n")
        #expect(Self.page(at: second) == "shop beta\n")

        let containers = try setup.engine.containers(label: "mimic.app=shop").sorted { $0.name < $1.name }
        #expect(containers.map(\.name) == ["mimic-shop-e1", "mimic-shop-e2"])
        #expect(containers.allSatisfy { $0.running })
        #expect(
            containers.first?.labels
                == ["mimic.app": "shop", "mimic.executor": "e1", "mimic.variant": "alpha", "mimic.port": "\(low)"])
        #expect(try setup.inspect("mimic-shop-e1", "{{.HostConfig.NetworkMode}}") == "host")
        let env = try setup.inspect("mimic-shop-e1", "{{json .Config.Env}}")
        #expect(env.contains("\"PORT=\(low)\"") && env.contains("\"NODE=node1\""))
        #expect(try setup.inspect("mimic-shop-e2", "{{json .Config.Cmd}}") == "[\"/serve\",\"\(low + 1)\"]")
    }

    @Test func cleanIsANewContainerFromTheCleanImageOnTheSamePort() async throws {
        let setup = try Setup()
        defer { setup.engine.shutdown() }
        let driver = setup.driver()
        let endpoint = try await driver.create(Self.target("e1"))
        #expect(Self.page(at: endpoint) == "shop alpha\n")
        let before = try #require(try setup.engine.container(named: "mimic-shop-e1"))
        // An intruder changes a file inside the running executor.
        try setup.engine.docker("exec", "mimic-shop-e1", "/bin/sh", "-c", "echo tampered > /www/index.html")
        #expect(Self.page(at: endpoint) == "tampered\n")

        let cleaned = try await driver.clean(Self.target("e1"))
        #expect(cleaned == endpoint, "the brackets keep the endpoint")
        let after = try #require(try setup.engine.container(named: "mimic-shop-e1"))
        #expect(after.id != before.id, "a new container")
        #expect(after.running)
        #expect(try setup.engine.docker("exec", "mimic-shop-e1", "/bin/cat", "/www/index.html") == "shop alpha")
        #expect(Self.page(at: endpoint) == "shop alpha\n", "the changed file is gone with the old container")
        #expect(try setup.engine.containers(label: "mimic.app=shop").count == 1)
    }

    @Test func removeDeletesTheContainerAndReleasesItsPort() async throws {
        let setup = try Setup()
        defer { setup.engine.shutdown() }
        let driver = setup.driver()
        let first = try await driver.create(Self.target("e1"))
        _ = try await driver.create(Self.target("e2", "beta"))
        try await driver.remove(Self.target("e1"))
        #expect(try setup.engine.container(named: "mimic-shop-e1") == nil)
        #expect(
            eventually(timeout: 5) { RealEngineImages.fetch(first) == nil }, "nothing listens on its port any more")
        // Removing what is gone already is fine: the container is what remove wants gone.
        try await driver.remove(Self.target("e1"))
        #expect(try await driver.create(Self.target("e3")) == first, "the freed port is handed out again")
        // An orphan the online check finds by its labels, under a name the driver did not give it.
        try setup.engine.docker(
            "create", "--name", "by-hand", "--label", "mimic.app=shop", "--label", "mimic.executor=e8",
            "--network", "host", "mimic-test/shop:alpha")
        #expect(try await driver.list().contains("e8"))
        try await driver.remove(Self.target("e8"))
        #expect(try setup.engine.container(named: "by-hand") == nil)
        #expect(
            try setup.engine.containers(label: "mimic.app=shop").map(\.name).sorted() == [
                "mimic-shop-e2", "mimic-shop-e3",
            ])
    }

    @Test func listIsByLabelAndTellsStoppedContainersApart() async throws {
        let setup = try Setup()
        defer { setup.engine.shutdown() }
        let driver = setup.driver()
        _ = try await driver.create(Self.target("e1"))
        _ = try await driver.create(Self.target("e2", "beta"))
        // Containers made behind the driver's back: another app's, an unlabelled one, and one of
        // this app that was never started.
        try setup.engine.docker(
            "create", "--name", "mimic-blog-e1", "--label", "mimic.app=blog", "--label", "mimic.executor=e1",
            "--network", "host", "mimic-test/shop:alpha")
        try setup.engine.docker("create", "--name", "unrelated", "--network", "host", "mimic-test/shop:alpha")
        try setup.engine.docker(
            "create", "--name", "mimic-shop-e9", "--label", "mimic.app=shop", "--label", "mimic.executor=e9",
            "--network", "host", "mimic-test/shop:alpha")
        // One of the driver's own containers killed behind its back: it exists, it does not run.
        try setup.engine.docker("kill", "mimic-shop-e2")
        let listing = try await driver.listWithStopped()
        #expect(listing.ids.sorted() == ["e1", "e2", "e9"])
        #expect(listing.stopped == ["e2", "e9"])
        #expect(try await setup.driver(app: "blog").list() == ["e1"])
    }

    @Test func aRestartedWorkerAndAnotherAppLearnThePortsInUseFromTheLabels() async throws {
        let setup = try Setup()
        defer { setup.engine.shutdown() }
        let low = setup.ports.lowerBound
        #expect(try await setup.driver().create(Self.target("e1")) == "127.0.0.1:\(low)")
        // A new driver knows nothing in memory, as after a worker restart.
        let restarted = setup.driver()
        #expect(try await restarted.create(Self.target("e2", "beta")) == "127.0.0.1:\(low + 1)")
        #expect(try await restarted.clean(Self.target("e1")) == "127.0.0.1:\(low)", "clean keeps the labelled port")
        // Another app's worker on the same host and range.
        #expect(try await setup.driver(app: "blog").create(Self.target("e1", app: "blog")) == "127.0.0.1:\(low + 2)")
        #expect(Self.page(at: "127.0.0.1:\(low + 2)") == "shop alpha\n")
        #expect(try setup.engine.containers(label: "mimic.port").count == 3)
    }

    /// A server that takes two seconds to listen (a JVM or PHP-FPM warming up): create returns
    /// its endpoint only once it answers, so the brackets never route to a refusing endpoint. One
    /// that never listens, or exits, fails the create, is removed and gives its port back.
    @Test func createReturnsOnceTheEndpointAnswersAndRemovesOneThatNeverDoes() async throws {
        let setup = try Setup(portCount: 3)
        defer { setup.engine.shutdown() }
        let driver = setup.driver(readyTimeout: .seconds(4))
        let slow = try await driver.create(Self.target("e1", "slow"))
        #expect(RealEngineImages.fetch(slow) == "shop alpha\n", "answers as soon as create returns")

        let started = ContinuousClock.now
        let mute = await #expect(throws: DriverError.self) { try await driver.create(Self.target("e2", "mute")) }
        #expect(ContinuousClock.now - started >= .seconds(4))
        let low = setup.ports.lowerBound
        #expect(
            mute?.description
                == "docker on host node1: e2 started but 127.0.0.1:\(low + 1) accepted no connection within 4s "
                + "(hosts[].ready_timeout; last try: connect 127.0.0.1:\(low + 1): connection refused); the container "
                + "was removed. Check that variant mute's image listens on $PORT (\(low + 1)), or raise ready_timeout")

        let dyingStarted = ContinuousClock.now
        let dying = await #expect(throws: DriverError.self) { try await driver.create(Self.target("e3", "dying")) }
        #expect(ContinuousClock.now - dyingStarted < .seconds(4), "an exited container is not waited for")
        #expect(
            dying?.description.contains("e3 started but the container exited (exit code 3) before it answered") == true)

        #expect(try setup.engine.containers(label: "mimic.app=shop").map(\.name) == ["mimic-shop-e1"])
        // The ports of the failed creates are free again.
        #expect(try await driver.create(Self.target("e4", "alpha")) == "127.0.0.1:\(low + 1)")
    }

    @Test func aMissingImageAndAFullRangeAreErrorsThatSayWhatToDo() async throws {
        let setup = try Setup(portCount: 1)
        defer { setup.engine.shutdown() }
        let missing = await #expect(throws: DriverError.self) {
            try await setup.driver(missingImage: true).create(Self.target("e1"))
        }
        #expect(
            missing?.description
                == "docker on host node1: create of e1: image mimic-test/shop:missing is not on the host; pull it "
                + "there (docker pull mimic-test/shop:missing) or fix variants.image")
        #expect(try setup.engine.containers().isEmpty)

        let driver = setup.driver()
        #expect(try await driver.create(Self.target("e2")) == "127.0.0.1:\(setup.ports.lowerBound)", "port released")
        let full = await #expect(throws: DriverError.self) { try await driver.create(Self.target("e3", "beta")) }
        #expect(full?.description.contains("create of e3: no free port left in the host's ports") == true)
        #expect(full?.description.contains("widen hosts[].ports") == true)
        #expect(try setup.engine.containers().map(\.name) == ["mimic-shop-e2"])
    }
}
