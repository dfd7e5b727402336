import Foundation
import Shared
import TestSupport
import Testing

/// `mimicctl compose` output, validated by Debian's `docker-compose config` (the v1 tool: it
/// parses, merges and checks the files without a Docker engine) and checked value by value.
@Suite struct ComposeTests {
    static let listenerYAML = """
        http: { host: 0.0.0.0, port: 8600 }
        tcp: { host: 127.0.0.1, port: 8601 }
        admin: { host: 127.0.0.1, port: 8602 }
        apps_dir: ./apps.d
        fsync: always
        tokens:
          - { name: ops, token: "ops-token-0123456789", sources: [admin], apps: ["*"] }
          - { name: waf-1, token: "waf-token-0123456789", sources: [waf], apps: [shop] }
        supervise: { enabled: true, worker: mimic-worker }
        """

    static func app(_ name: String, db: Int, port: Int = 6390) -> String {
        """
        # \(name): the operator's own comment survives the rewrite
        app: \(name)
        redis:
          host: 10.1.2.3
          port: \(port)
          db: \(db)
        replicas: { online: 3, standby: 2, min_online: 2, retain_dirty: 1 }
        variants:
        - { name: nginx-php, traits: { os: debian, web: nginx }, image: reg/\(name):nginx-php, ports: [80] }
        - { name: apache-java, traits: { os: centos, web: apache }, image: reg/\(name):apache-java, ports: [8080] }
        hosts:
          - { name: node1, address: 10.0.0.11, driver: docker, docker: "tcp://10.0.0.11:2375" }
        run_dir: ../run
        scheduling: { rotate_every: 10m }
        """
    }

    struct Fleet {
        var dir: URL
        var apps: String { dir.appendingPathComponent("apps.d").path }
        var out: String { dir.appendingPathComponent("deploy").path }
        var listener: String { dir.appendingPathComponent("listener.yaml").path }
        var templates: String { BuiltProducts.packageRoot.appendingPathComponent("compose-templates").path }

        init(_ files: [String: String]) throws {
            dir = try TempDirectory.make(prefix: "ctl-compose")
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("apps.d"), withIntermediateDirectories: true)
            for (name, text) in files {
                try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
        }

        func compose(_ extra: [String] = []) throws -> CtlResult {
            try Ctl.run(["compose", "--apps", apps, "--out", out, "--templates", templates] + extra)
        }

        /// `docker-compose -f ... config` of the given deploy files, as JSON (via the PyYAML that
        /// docker-compose itself runs on).
        func config(_ files: [String]) throws -> [String: Any] {
            let compose = "/usr/bin/docker-compose"
            guard FileManager.default.isExecutableFile(atPath: compose) else {
                throw TestSupportError("docker-compose not installed: run `make deps`")
            }
            let arguments = files.flatMap { ["-f", "\(out)/\($0)"] } + ["config"]
            let result = try ChildProcess.runCapturing(executable: compose, arguments: arguments)
            guard result.status == 0 else {
                throw TestSupportError(
                    "docker-compose \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
            }
            let json = try ChildProcess.run(
                executable: "/usr/bin/python3",
                arguments: ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
                stdin: result.stdout)
            guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                throw TestSupportError("docker-compose config printed no mapping")
            }
            return object
        }
    }

    private func service(_ config: [String: Any], _ name: String) throws -> [String: Any] {
        guard let service = (config["services"] as? [String: Any])?[name] as? [String: Any] else {
            throw TestSupportError("no service \(name) in \(config["services"] ?? "nothing")")
        }
        return service
    }

    private func volumes(_ service: [String: Any]) -> [[String: Any]] {
        (service["volumes"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
    }

    @Test func everyFileValidatesAndCarriesTheValuesThatMatter() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML,
            "apps.d/shop.yaml": Self.app("shop", db: 1),
            "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        defer { try? FileManager.default.removeItem(at: fleet.dir) }
        let result = try fleet.compose(["--listener", fleet.listener])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.lines.first
                == "wrote 7 files to \(fleet.out): fleet.compose.yml, listener.yaml, redis.conf, 2 apps (blog, shop)"
        )

        // The fleet alone, each app's file alone, each app with the fleet, and everything.
        let fleetOnly = try fleet.config(["fleet.compose.yml"])
        _ = try fleet.config(["shop.compose.yml"])
        _ = try fleet.config(["blog.compose.yml"])
        let shopWithFleet = try fleet.config(["fleet.compose.yml", "shop.compose.yml"])
        let all = try fleet.config(["fleet.compose.yml", "shop.compose.yml", "blog.compose.yml"])
        #expect(
            Set((all["services"] as? [String: Any] ?? [:]).keys) == ["redis", "listener", "worker-shop", "worker-blog"])

        let redis = try service(fleetOnly, "redis")
        let redisCommand = redis["command"] as? [String] ?? []
        #expect(redisCommand.starts(with: ["redis-server", "/run/secrets/redis_conf", "--appendonly", "yes"]))
        #expect(
            volumes(redis).contains { $0["source"] as? String == "redis-data" && $0["target"] as? String == "/data" })

        let listener = try service(fleetOnly, "listener")
        #expect(listener["image"] as? String == "mimic-scheduler:latest")
        #expect(listener["command"] as? [String] == ["mimic-listener", "--config", "/etc/mimic/listener.yaml"])
        #expect(listener["ports"] as? [String] == ["0.0.0.0:8600:7600/tcp", "127.0.0.1:8601:7601/tcp"])
        let listenerMounts = volumes(listener)
        #expect(
            listenerMounts.contains {
                $0["source"] as? String == "\(fleet.out)/listener.yaml" && $0["read_only"] as? Bool == true
            })
        #expect(listenerMounts.contains { $0["source"] as? String == "run" && $0["target"] as? String == "/run/mimic" })
        #expect(
            listenerMounts.contains {
                $0["source"] as? String == "journal" && $0["target"] as? String == "/var/lib/mimic/journal"
            })

        let worker = try service(shopWithFleet, "worker-shop")
        #expect(worker["image"] as? String == "mimic-scheduler:latest")
        #expect(
            worker["command"] as? [String] == [
                "mimic-worker", "--config", "/etc/mimic/apps.d/shop.yaml", "--run-dir", "/run/mimic",
            ])
        #expect(worker["restart"] as? String == "unless-stopped")
        #expect(worker["init"] as? Bool == true)
        #expect(worker["stop_grace_period"] as? String == "30s")
        #expect((worker["labels"] as? [String: Any])?["mimic.redis-db"] as? String == "1")
        #expect(
            (worker["healthcheck"] as? [String: Any])?["test"] as? [String] == [
                "CMD", "mimicctl", "ping", "shop", "--run-dir", "/run/mimic",
            ])
        let workerMounts = volumes(worker)
        #expect(
            workerMounts.contains {
                $0["type"] as? String == "bind" && $0["source"] as? String == "\(fleet.out)/apps.d/shop.yaml"
                    && $0["target"] as? String == "/etc/mimic/apps.d/shop.yaml" && $0["read_only"] as? Bool == true
            })
        #expect(workerMounts.contains { $0["source"] as? String == "run" && $0["target"] as? String == "/run/mimic" })

        // The listener and the workers meet on one named volume and network, whichever files are used.
        for config in [fleetOnly, shopWithFleet, try fleet.config(["blog.compose.yml"])] {
            #expect(
                ((config["volumes"] as? [String: Any])?["run"] as? [String: Any])?["name"] as? String == "mimic-run")
            #expect(((config["networks"] as? [String: Any])?["mimic"] as? [String: Any])?["name"] as? String == "mimic")
        }

        // The in-container configs: Redis is the `redis` service with each app's own db index.
        let shop = try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/shop.yaml")
        let generated = try #require(shop.redis.password, "the fleet's Redis always has a password")
        #expect(shop.redis == RedisSettings(host: "redis", port: 6379, db: 1, password: generated))
        #expect(shop.runDir == "/run/mimic" || shop.runDir.hasSuffix("/run/mimic"))
        #expect(shop.replicas == Replicas(online: 3, standby: 2, minOnline: 2, retainDirty: 1))
        #expect(try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/blog.yaml").redis.db == 2)
        let shopText = try String(contentsOfFile: "\(fleet.out)/apps.d/shop.yaml", encoding: .utf8)
        #expect(shopText.contains("# shop: the operator's own comment survives the rewrite"))
        let inContainer = try ConfigLoader.loadListener(path: "\(fleet.out)/listener.yaml")
        #expect(inContainer.supervise.enabled == false)
        #expect(inContainer.runDir == "/run/mimic")
        #expect(inContainer.fsync == .always)
        #expect(inContainer.tokens.map(\.name) == ["ops", "waf-1"])
        #expect(inContainer.tokens.last?.apps == ["shop"])
    }

    @Test func hostNetworkPutsEveryServiceOnTheHostAndRedisOnALoopbackPort() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML,
            "apps.d/shop.yaml": Self.app("shop", db: 1), "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        defer { try? FileManager.default.removeItem(at: fleet.dir) }
        let result = try fleet.compose([
            "--listener", fleet.listener, "--network", "host", "--redis-port", "6501", "--redis-image",
            "mimic-redis:local",
            "--image", "mimic-scheduler:local",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let all = try fleet.config(["fleet.compose.yml", "shop.compose.yml", "blog.compose.yml"])
        let services = all["services"] as? [String: Any] ?? [:]
        #expect(Set(services.keys) == ["redis", "listener", "worker-shop", "worker-blog"])
        for name in services.keys {
            let service = try service(all, name)
            #expect(service["network_mode"] as? String == "host", "\(name)")
            #expect(service["networks"] == nil && service["ports"] == nil, "\(name): nothing published")
        }
        #expect(all["networks"] == nil, "no compose network")
        #expect(((all["volumes"] as? [String: Any])?["run"] as? [String: Any])?["name"] as? String == "mimic-run")
        _ = try fleet.config(["shop.compose.yml"])

        let redis = try service(all, "redis")
        #expect(redis["image"] as? String == "mimic-redis:local")
        #expect(
            redis["command"] as? [String] == [
                "redis-server", "/run/secrets/redis_conf", "--appendonly", "yes", "--databases", "16", "--bind",
                "127.0.0.1", "--port", "6501",
            ])
        #expect(
            (redis["healthcheck"] as? [String: Any])?["test"] as? [String] == [
                "CMD", "redis-cli", "-p", "6501", "ping",
            ])
        let listener = try service(all, "listener")
        #expect(listener["image"] as? String == "mimic-scheduler:local")
        // The healthcheck asks the admin door, where listener.yaml puts it in the host's network.
        #expect(
            (listener["healthcheck"] as? [String: Any])?["test"] as? [String] == [
                "CMD", "mimicctl", "status", "--admin", "http://127.0.0.1:8602",
            ])
        #expect(
            volumes(listener).contains { $0["source"] as? String == "run" && $0["target"] as? String == "/run/mimic" })
        #expect(try service(all, "worker-blog")["image"] as? String == "mimic-scheduler:local")

        let inContainer = try ConfigLoader.loadListener(path: "\(fleet.out)/listener.yaml")
        #expect(inContainer.http == .init(host: "0.0.0.0", port: 8600))
        #expect(inContainer.tcp == .init(host: "127.0.0.1", port: 8601))
        #expect(inContainer.admin == .init(host: "127.0.0.1", port: 8602))
        #expect(inContainer.runDir == "/run/mimic")
        #expect(
            try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/shop.yaml").redis.host == "127.0.0.1")
        #expect(try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/shop.yaml").redis.port == 6501)
        #expect(try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/blog.yaml").redis.db == 2)

        // The same files again on a compose network: nothing of host mode is left.
        #expect(try fleet.compose(["--listener", fleet.listener]).status == 0)
        let bridge = try fleet.config(["fleet.compose.yml", "shop.compose.yml"])
        #expect(try service(bridge, "worker-shop")["network_mode"] == nil)
        #expect(try service(bridge, "redis")["image"] as? String == "redis:7-bookworm")
        #expect(try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/shop.yaml").redis.host == "redis")
    }

    @Test func theAppsDirDefaultsToTheListenersAndPasswordsCarryOver() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML,
            "apps.d/shop.yaml": Self.app("shop", db: 1).replacingOccurrences(
                of: "  db: 1", with: "  db: 1\n  password: \"s3cret\""),
        ])
        defer { try? FileManager.default.removeItem(at: fleet.dir) }
        let result = try Ctl.run([
            "compose", "--out", fleet.out, "--templates", fleet.templates, "--listener", fleet.listener,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.first?.hasSuffix("1 app (shop)") == true)
        #expect(try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/shop.yaml").redis.password == "s3cret")
        // Redis reads it from a secret file, never from its command line or the compose file.
        #expect(
            try String(contentsOfFile: fleet.out + "/redis.conf", encoding: .utf8).contains("requirepass \"s3cret\"\n"))
        let fleetFile = try String(contentsOfFile: fleet.out + "/fleet.compose.yml", encoding: .utf8)
        #expect(!fleetFile.contains("s3cret"))
        let redis = try service(try fleet.config(["fleet.compose.yml"]), "redis")
        #expect(!(redis["command"] as? [String] ?? []).contains("--requirepass"))
        #expect(redis["environment"] == nil)
        #expect((redis["secrets"] as? [[String: Any]])?.first?["source"] as? String == "redis_conf")
    }

    /// Issue 13 finding 5: every process its own uid, so SO_PEERCRED tells them apart; Redis
    /// always has a password, made once when the apps give none.
    @Test func eachProcessHasItsOwnUidAndRedisAPassword() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML, "apps.d/shop.yaml": Self.app("shop", db: 1),
            "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        defer { try? FileManager.default.removeItem(at: fleet.dir) }
        #expect(try fleet.compose(["--listener", fleet.listener]).status == 0)
        let all = try fleet.config(["fleet.compose.yml", "shop.compose.yml", "blog.compose.yml"])
        #expect(try service(all, "listener")["user"] as? String == "10000:10000")
        #expect(try service(all, "worker-shop")["user"] as? String == "10101:10000")
        #expect(try service(all, "worker-blog")["user"] as? String == "10102:10000")
        let shop = try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/shop.yaml")
        let blog = try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/blog.yaml")
        #expect(shop.listenerUID == 10000 && shop.workerUID == 10101)
        #expect(blog.listenerUID == 10000 && blog.workerUID == 10102)
        let password = try #require(shop.redis.password)
        #expect(password.count == 48 && password.allSatisfy(\.isHexDigit))
        #expect(blog.redis.password == password)
        #expect(
            try String(contentsOfFile: fleet.out + "/redis.conf", encoding: .utf8).contains(
                "requirepass \"\(password)\""))
        var info = stat()
        #expect(stat(fleet.out, &info) == 0 && info.st_mode & 0o777 == 0o700, "deploy/ holds the secrets")
        // Generating again keeps the password the running Redis was started with.
        #expect(try fleet.compose(["--listener", fleet.listener]).status == 0)
        #expect(try ConfigLoader.loadApp(path: "\(fleet.out)/apps.d/shop.yaml").redis.password == password)
    }

    @Test func removedAppsLoseTheirGeneratedFiles() throws {
        let fleet = try Fleet([
            "apps.d/shop.yaml": Self.app("shop", db: 1), "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        defer { try? FileManager.default.removeItem(at: fleet.dir) }
        #expect(try fleet.compose().status == 0)
        try FileManager.default.removeItem(atPath: fleet.apps + "/blog.yaml")
        let operatorFile = fleet.out + "/extra.compose.yml"
        try "services: {}\n".write(toFile: operatorFile, atomically: true, encoding: .utf8)
        let result = try fleet.compose()
        #expect(result.status == 0)
        #expect(result.stderr.contains("no --listener"))
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: fleet.out))
        #expect(
            files == [
                "fleet.compose.yml", "listener.yaml", "shop.compose.yml", "apps.d", "extra.compose.yml", "redis.conf",
            ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fleet.out + "/apps.d") == ["shop.yaml"])
    }

    @Test func appsThatCannotShareOneRedisAreRefused() throws {
        // Different Redis servers, same db index: fine for the apps dir, not for the fleet's one Redis.
        let fleet = try Fleet([
            "apps.d/shop.yaml": Self.app("shop", db: 1), "apps.d/blog.yaml": Self.app("blog", db: 1, port: 6391),
        ])
        defer { try? FileManager.default.removeItem(at: fleet.dir) }
        let result = try fleet.compose()
        #expect(result.status == 2)
        #expect(
            result.stderr
                == "mimicctl: \(fleet.apps)/shop.yaml: redis.db 1 is also app blog's; the fleet's one Redis needs a distinct db per app\n"
        )
        #expect(!FileManager.default.fileExists(atPath: fleet.out))
    }

    @Test func badInputsExitTwo() throws {
        let fleet = try Fleet([
            "apps.d/shop.yaml": Self.app("shop", db: 1).replacingOccurrences(of: "db: 1", with: "db: one")
        ])
        defer { try? FileManager.default.removeItem(at: fleet.dir) }
        let badApp = try fleet.compose()
        #expect(badApp.status == 2)
        #expect(badApp.stderr == "mimicctl: \(fleet.apps)/shop.yaml:6:7: redis.db: expected an integer\n")

        let noTemplates = try Ctl.run([
            "compose", "--apps", fleet.apps, "--out", fleet.out, "--templates", fleet.dir.path + "/none",
        ])
        #expect(noTemplates.status == 2)
        #expect(noTemplates.stderr.contains("--templates \(fleet.dir.path)/none: no such directory"))

        let badGrace = try Ctl.run(["compose", "--stop-grace", "soon"])
        #expect(badGrace.status == 2)
        #expect(badGrace.stderr.contains("--stop-grace soon"))

        let badNetwork = try Ctl.run(["compose", "--network", "overlay"])
        #expect(badNetwork.status == 2)
        #expect(badNetwork.stderr.contains("overlay"))
        let portWithoutHost = try Ctl.run(["compose", "--redis-port", "6501"])
        #expect(portWithoutHost.status == 2)
        #expect(portWithoutHost.stderr.contains("--redis-port: only with --network host"))
    }
}
