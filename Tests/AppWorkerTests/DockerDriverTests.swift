import AsyncHTTPClient
import Foundation
import Shared
import TestSupport
import Testing

@testable import AppWorker

/// The docker driver over real HTTP against `DockerEngineStandIn`: bridge mode's published ports
/// (the test engines run without a bridge) and the faults a real engine cannot be made to show on
/// demand (500, 409, no answer). DockerRealEngineDriverTests runs it against a real dockerd.
// Alone: `anEngineThatDoesNotAnswerTimesOut` bounds a 300 ms timeout by 3 s, and synchronous tests
// polling processes can hold both threads of the cooperative pool on 2 cores for seconds.
@Suite(.serialized, .runsAlone)
struct DockerDriverTests {
    static let image = "reg/shop:nginx-php"

    static func driver(
        _ engine: DockerEngineStandIn, endpoint: String? = nil, timeout: Duration = .seconds(5),
        app: String = "shop"
    ) -> DockerDriver {
        let host = HostConfig(
            name: "node1", address: "10.0.0.11", driver: .docker,
            docker: endpoint ?? "tcp://127.0.0.1:\(engine.port)",
            env: ["DB_HOST": "10.0.0.5", "MODE": "host"], dockerTimeout: timeout,
            // The stand-in's containers do not run: nothing would ever answer on their ports.
            readyTimeout: .zero)
        let variant = Variant(
            name: "nginx-php", traits: [:], image: image, ports: [80, 9000], env: ["MODE": "variant"])
        return DockerDriver(app: app, host: host, variants: ["nginx-php": variant], http: HTTPClient.shared)
    }

    static func target(_ executor: String) -> DriverTarget {
        DriverTarget(app: "shop", executor: executor, variant: "nginx-php", host: "node1")
    }

    @Test func createStartsALabelledContainerAndReturnsItsPublishedEndpoint() async throws {
        let engine = try DockerEngineStandIn(images: [Self.image])
        defer { engine.shutdown() }
        let endpoint = try await Self.driver(engine).create(Self.target("e1"))
        let container = try #require(engine.container(named: "mimic-shop-e1"))
        #expect(container.running)
        #expect(container.image == Self.image)
        #expect(container.labels == ["mimic.app": "shop", "mimic.executor": "e1", "mimic.variant": "nginx-php"])
        #expect(
            container.env == [
                "DB_HOST=10.0.0.5", "MIMIC_APP=shop", "MIMIC_EXECUTOR=e1", "MIMIC_VARIANT=nginx-php", "MODE=variant",
            ], "variant env overrides host env; the container is told who it is")
        #expect(container.exposed == ["80/tcp", "9000/tcp"])
        #expect(
            endpoint == "10.0.0.11:\(container.published["80/tcp"]!)",
            "host address + port published for the first port")
        #expect(engine.requests.contains("POST /v1.41/containers/mimic-shop-e1/start"))
    }

    @Test func listReturnsOnlyThisAppsExecutorsAndCleanReplacesTheContainer() async throws {
        let engine = try DockerEngineStandIn(images: [Self.image])
        defer { engine.shutdown() }
        let driver = Self.driver(engine)
        _ = try await driver.create(Self.target("e1"))
        _ = try await driver.create(Self.target("e2"))
        engine.add(name: "mimic-blog-e1", image: Self.image, labels: ["mimic.app": "blog", "mimic.executor": "e1"])
        engine.add(name: "unrelated", image: "redis", labels: [:])
        engine.add(
            name: "mimic-shop-e9", image: Self.image, labels: ["mimic.app": "shop", "mimic.executor": "e9"],
            running: false)
        #expect(try await driver.list().sorted() == ["e1", "e2", "e9"], "stopped containers count: they exist")

        let before = try #require(engine.container(named: "mimic-shop-e1"))
        let endpoint = try await driver.clean(Self.target("e1"))
        let after = try #require(engine.container(named: "mimic-shop-e1"))
        #expect(after.id != before.id, "a new container from the clean image")
        #expect(after.running)
        #expect(endpoint == "10.0.0.11:\(after.published["80/tcp"]!)")
    }

    @Test func removeStopsAndDeletesAndAMissingContainerIsAlreadyRemoved() async throws {
        let engine = try DockerEngineStandIn(images: [Self.image])
        defer { engine.shutdown() }
        let driver = Self.driver(engine)
        _ = try await driver.create(Self.target("e1"))
        try await driver.remove(Self.target("e1"))
        #expect(engine.container(named: "mimic-shop-e1") == nil)
        #expect(engine.requests.contains("POST /v1.41/containers/mimic-shop-e1/stop?t=5"))
        #expect(engine.requests.contains("DELETE /v1.41/containers/mimic-shop-e1?force=true&v=true"))
        // 404 on stop and delete: the container is gone, which is what remove wants.
        try await driver.remove(Self.target("e1"))
        #expect(try await driver.list().isEmpty)
    }

    @Test func aNameConflictFromAnEarlierAttemptIsReplaced() async throws {
        let engine = try DockerEngineStandIn(images: [Self.image])
        defer { engine.shutdown() }
        engine.add(name: "mimic-shop-e1", image: "left/over", labels: ["mimic.app": "shop", "mimic.executor": "e1"])
        _ = try await Self.driver(engine).create(Self.target("e1"))
        #expect(engine.container(named: "mimic-shop-e1")?.image == Self.image)
        #expect(engine.requests.filter { $0.hasPrefix("POST /v1.41/containers/create") }.count == 2)
    }

    @Test func engineErrorsNameTheHostTheExecutorAndWhatToDo() async throws {
        let engine = try DockerEngineStandIn(images: [])
        defer { engine.shutdown() }
        let driver = Self.driver(engine)
        let missingImage = await #expect(throws: DriverError.self) { try await driver.create(Self.target("e1")) }
        #expect(missingImage?.description.contains("docker on host node1") == true)
        #expect(missingImage?.description.contains("image reg/shop:nginx-php is not on the host") == true)
        #expect(missingImage?.description.contains("docker pull reg/shop:nginx-php") == true)
    }

    @Test func serverErrorsAndConflictsOnRemoveAreFailures() async throws {
        let engine = try DockerEngineStandIn(images: [Self.image])
        defer { engine.shutdown() }
        let driver = Self.driver(engine)
        engine.inject("POST", "/start", .status(500, "driver failed programming external connectivity"))
        let start = await #expect(throws: DriverError.self) { try await driver.create(Self.target("e1")) }
        #expect(start?.description.contains("start of e1 failed with HTTP 500: driver failed programming") == true)

        engine.inject(
            "DELETE", "/containers/mimic-shop-e1", .status(409, "removal of container e1 is already in progress"))
        let remove = await #expect(throws: DriverError.self) { try await driver.remove(Self.target("e1")) }
        #expect(remove?.description.contains("remove of e1 failed with HTTP 409: removal of container") == true)

        engine.inject("GET", "/containers/json", .status(500, "server error"))
        let list = await #expect(throws: DriverError.self) { try await driver.list() }
        #expect(list?.description.contains("list of app shop failed with HTTP 500") == true)
    }

    @Test func anEngineThatDoesNotAnswerTimesOut() async throws {
        let engine = try DockerEngineStandIn(images: [Self.image])
        defer { engine.shutdown() }
        let driver = Self.driver(engine, timeout: .milliseconds(300))
        engine.inject("POST", "/containers/create", .hang)
        let started = ContinuousClock.now
        let error = await #expect(throws: DriverError.self) { try await driver.create(Self.target("e1")) }
        #expect(error?.description.contains("create of e1 from reg/shop:nginx-php got no answer") == true)
        #expect(error?.description.contains("within 300ms (docker_timeout)") == true)
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test func aUnixSocketEngineIsReachedThroughHttpPlusUnix() async throws {
        let socket = try TempDirectory.make(prefix: "docker-standin").appendingPathComponent("docker.sock").path
        let engine = try DockerEngineStandIn(images: [Self.image], unixSocket: socket)
        defer { engine.shutdown() }
        let driver = Self.driver(engine, endpoint: "unix://\(socket)")
        _ = try await driver.create(Self.target("e4"))
        #expect(try await driver.list() == ["e4"])
    }

    @Test func aContainerWithTheAppLabelButNoExecutorIdFailsTheList() async throws {
        let engine = try DockerEngineStandIn(images: [Self.image])
        defer { engine.shutdown() }
        engine.add(name: "hand-made", image: Self.image, labels: ["mimic.app": "shop", "mimic.executor": "Not An Id"])
        let error = await #expect(throws: DriverError.self) { try await Self.driver(engine).list() }
        #expect(
            error?.description.contains("container /hand-made has label mimic.app=shop but no valid mimic.executor")
                == true)
    }
}
