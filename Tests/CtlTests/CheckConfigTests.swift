import Foundation
import TestSupport
import Testing

/// Runs the built `mimicctl` as an operator would.
@Suite struct CheckConfigTests {
    static let listener = """
        apps_dir: ./apps.d
        tokens:
          - { name: ops, token: "ops-token-0123456789", sources: [admin], apps: ["*"] }
        """

    static func app(_ name: String, db: Int) -> String {
        """
        app: \(name)
        redis: { db: \(db) }
        replicas: { online: 2, standby: 1, min_online: 1 }
        variants:
          - { name: v1, image: reg/\(name):v1, ports: [80] }
        hosts:
          - { name: h1, address: 127.0.0.1, driver: docker, docker: "unix:///var/run/docker.sock" }
        """
    }

    private func fleet(_ files: [String: String]) throws -> URL {
        let dir = try TempDirectory.make(prefix: "ctl-check")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("apps.d"), withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return dir
    }

    private func check(_ arguments: [String]) throws -> (status: Int32, stdout: [String], stderr: [String]) {
        let result = try ChildProcess.runCapturing(executable: BuiltProducts.path("mimicctl"), arguments: arguments)
        let lines = { (text: String) in text.split(separator: "\n").map(String.init) }
        return (result.status, lines(result.stdout), lines(result.stderr))
    }

    @Test func goodFleetWithListener() throws {
        let dir = try fleet([
            "listener.yaml": Self.listener,
            "apps.d/shop.yaml": Self.app("shop", db: 1),
            "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try check(["check-config", dir.path])
        #expect(result.status == 0)
        #expect(result.stdout == ["ok: 2 apps (blog, shop), \(dir.path)/listener.yaml"])
        #expect(result.stderr.isEmpty)
    }

    @Test func appsDirectoryWithExplicitListener() throws {
        let dir = try fleet(["listener.yaml": Self.listener, "apps.d/shop.yaml": Self.app("shop", db: 1)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let listener = dir.appendingPathComponent("listener.yaml").path
        let result = try check(["check-config", dir.appendingPathComponent("apps.d").path, "--listener", listener])
        #expect(result.status == 0)
        #expect(result.stdout == ["ok: 1 app (shop), \(listener)"])
    }

    @Test func everyErrorOfEveryFileIsPrinted() throws {
        let dir = try fleet([
            "apps.d/shop.yaml": Self.app("shop", db: 1).replacingOccurrences(of: "online: 2,", with: "online: two,"),
            "apps.d/blog.yaml": Self.app("blog", db: 1) + "\ncolour: red",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let apps = dir.appendingPathComponent("apps.d").path
        let result = try check(["check-config", apps])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr == [
                "\(apps)/blog.yaml:8:1: colour: unknown key (expected one of: app, redis, replicas, variants, hosts, scheduling, brackets, lists, run_dir, max_parallel_actions, reconcile_every, listener_uid, worker_uid, forensics, log_export)",
                "\(apps)/shop.yaml:3:21: replicas.online: expected an integer",
            ])
    }

    @Test func badListenerIsReported() throws {
        let dir = try fleet([
            "listener.yaml": Self.listener.replacingOccurrences(of: "\"ops-token-0123456789\"", with: "abc")
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try check(["check-config", dir.path])
        #expect(result.status == 2)
        #expect(
            result.stderr == [
                "\(dir.path)/listener.yaml:3:25: tokens[0].token: token too short (at least 16 characters)"
            ])
    }

    @Test func usageErrorExitsTwo() throws {
        let missing = try check(["check-config"])
        #expect(missing.status == 2)
        #expect(missing.stderr.first?.contains("Missing expected argument") == true)
        let unknown = try check(["no-such-command"])
        #expect(unknown.status == 2)
    }
}
