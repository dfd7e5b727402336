import Foundation
import Testing

@testable import Shared

/// `redis.sentinel` and `redis.wait` (DESIGN section 11, issue 14): what loads, and every mistake
/// refused at its file:line:col with its key path, as the rest of the app file.
@Suite struct SentinelConfigTests {
    static let file = "/etc/mimic/apps.d/blog.yaml"

    /// `minimalApp` with its `redis:` line (line 2) replaced.
    static func app(redis: String) -> String {
        ConfigFixtures.minimalApp.replacingOccurrences(of: "redis: { db: 2 }", with: "redis: " + redis)
    }

    func issues(_ redis: String) -> [String] {
        do throws(ConfigErrors) {
            _ = try ConfigLoader.loadApp(text: Self.app(redis: redis), file: Self.file)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func theSentinelFormLoads() throws {
        let config = try ConfigLoader.loadApp(
            text: Self.app(
                redis:
                    #"{ sentinel: { master: mimic, nodes: ["10.0.0.5:26379", "[::1]:26380"], password: s }, db: 1, password: m, wait: { replicas: 2, timeout: 250ms } }"#
            ),
            file: Self.file)
        #expect(
            config.redis.sentinel
                == SentinelSettings(
                    master: "mimic",
                    nodes: [.init(host: "10.0.0.5", port: 26379), .init(host: "::1", port: 26380)], password: "s"))
        #expect(config.redis.password == "m")
        #expect(config.redis.wait == ReplicaWait(replicas: 2, timeout: .milliseconds(250)))
        #expect(config.redis.wait?.timeoutMilliseconds == 250)
        #expect(config.redis.server == "sentinel master mimic via 10.0.0.5:26379,::1:26380")
    }

    @Test func waitTakesItsDefaultsAndAPlainHostMayWaitToo() throws {
        let config = try ConfigLoader.loadApp(text: Self.app(redis: "{ db: 2, wait: {} }"), file: Self.file)
        #expect(config.redis.sentinel == nil)
        #expect(config.redis.wait == ReplicaWait(replicas: 1, timeout: .milliseconds(500)))
    }

    @Test(arguments: [
        (
            "{ host: 10.0.0.1, sentinel: { master: m, nodes: [\"a:1\"] }, db: 1 }",
            "redis.sentinel: give either host and port or sentinel, not both"
        ),
        ("{ sentinel: { nodes: [\"a:1\"] }, db: 1 }", "redis.sentinel.master: required key missing"),
        (
            "{ sentinel: { master: m, nodes: [] }, db: 1 }",
            "redis.sentinel.nodes: name at least one sentinel as \"host:port\""
        ),
        (
            "{ sentinel: { master: m, nodes: [\"a\"] }, db: 1 }",
            "redis.sentinel.nodes[0]: expected \"host:port\" with a port from 1 to 65535, got \"a\""
        ),
        (
            "{ sentinel: { master: m, nodes: [\"a:70000\"] }, db: 1 }",
            "redis.sentinel.nodes[0]: expected \"host:port\""
        ),
        (
            "{ sentinel: { master: m, nodes: [\"a:1\"], port: 5 }, db: 1 }",
            "redis.sentinel.port: unknown key (expected one of: master, nodes, password)"
        ),
        ("{ db: 1, wait: { replicas: 0 } }", "redis.wait.replicas: must be between 1 and 64"),
        ("{ db: 1, wait: { timeout: 0s } }", "redis.wait.timeout: must be greater than 0"),
    ])
    func mistakesAreRefusedWhereTheyAre(redis: String, expected: String) {
        let found = issues(redis)
        #expect(found.contains { $0.contains("blog.yaml:2:") && $0.contains(expected) }, "\(found)")
    }

    /// Two apps behind the same sentinels and master name share one server: their dbs must differ.
    @Test func twoAppsBehindTheSameSentinelsMayNotShareADb() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mimic-sentinel-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let redis = #"{ sentinel: { master: mimic, nodes: ["10.0.0.5:26379"] }, db: 2 }"#
        try Self.app(redis: redis).write(
            to: directory.appendingPathComponent("blog.yaml"), atomically: true, encoding: .utf8)
        try Self.app(redis: redis).replacingOccurrences(of: "app: blog", with: "app: shop").write(
            to: directory.appendingPathComponent("shop.yaml"), atomically: true, encoding: .utf8)
        do throws(ConfigErrors) {
            _ = try ConfigLoader.loadAppsDirectory(directory.path)
            Issue.record("two apps on one db behind the same sentinels loaded")
        } catch {
            let text = error.issues.map(\.description).joined(separator: "\n")
            #expect(
                text.contains("redis.db: Redis sentinel master mimic via 10.0.0.5:26379 db 2 is already used by app"),
                "\(text)")
        }
    }
}
