import Foundation
import Shared
import TestSupport
import Testing

/// `mimicctl kube` output, validated file by file against the Kubernetes schemas offline
/// (`kubernetes-validate --strict`) and checked for what the schemas cannot see: the references
/// between the objects, the configs the pod assembles, and secrets kept out of ConfigMaps.
@Suite struct KubeTests {
    /// The compose tests' fleet: the same operator files feed both generators.
    static let listenerYAML = ComposeTests.listenerYAML
    static let tokens = ["ops-token-0123456789", "waf-token-0123456789"]

    static func app(_ name: String, db: Int) -> String { ComposeTests.app(name, db: db) }

    /// A generated deploy directory, each file parsed (PyYAML, as JSON) into its object.
    struct Manifests {
        var dir: String
        var objects: [String: [String: Any]] = [:]

        init(dir: String) throws {
            self.dir = dir
            for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".yaml") {
                let json = try ChildProcess.run(
                    executable: "/usr/bin/env",
                    arguments: [
                        "python3", "-c",
                        "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
                        "\(dir)/\(name)",
                    ])
                // The operator's own files in the directory need not be objects.
                let object = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
                if let object = object as? [String: Any] { objects[name] = object }
            }
        }

        func all(_ kind: String) -> [[String: Any]] {
            objects.values.filter { $0["kind"] as? String == kind }
        }

        func named(_ kind: String, _ name: String) -> [String: Any]? {
            all(kind).first { meta($0)["name"] as? String == name }
        }

        /// A ConfigMap's data or a Secret's stringData.
        func contents(_ kind: String, _ name: String) throws -> [String: String] {
            let object = try #require(named(kind, name), "no \(kind) \(name) in \(dir)")
            return try #require(object[kind == "Secret" ? "stringData" : "data"] as? [String: String])
        }
    }

    struct Fleet {
        var dir: URL
        var apps: String { dir.appendingPathComponent("apps.d").path }
        var out: String { dir.appendingPathComponent("k8s").path }
        var listener: String { dir.appendingPathComponent("listener.yaml").path }
        static var templates: String { BuiltProducts.packageRoot.appendingPathComponent("kube-templates").path }

        /// The compose tests' operator directory (apps.d and the files given), deployed here to k8s/.
        init(_ files: [String: String]) throws {
            dir = try ComposeTests.Fleet(files).dir
        }

        func kube(apps: String? = nil, _ extra: [String] = []) throws -> CtlResult {
            try Ctl.run(["kube", "--apps", apps ?? self.apps, "--out", out, "--templates", Self.templates] + extra)
        }
    }

    /// `kubernetes-validate --strict` on every file: unknown fields are errors, not ignored.
    static func validate(_ dir: String) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(!files.isEmpty)
        for file in files {
            let result = try ChildProcess.runCapturing(
                executable: "/usr/bin/env", arguments: ["kubernetes-validate", "--strict", "\(dir)/\(file)"])
            #expect(
                result.status == 0,
                "\(file): kubernetes-validate exited \(result.status) (run `make deps`): \(result.stdout)\(result.stderr)"
            )
        }
    }

    @Test func examplesValidateAgainstTheKubernetesSchemas() throws {
        let fleet = try Fleet(["listener.yaml": Self.listenerYAML])
        let examples = BuiltProducts.packageRoot.appendingPathComponent("examples/apps.d").path
        let result = try fleet.kube(apps: examples, ["--listener", fleet.listener])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.validate(fleet.out)
        let manifests = try Manifests(dir: fleet.out)
        try Self.checkReferences(manifests)
        for app in ["shop", "blog"] {
            #expect(manifests.named("ConfigMap", "mimic-app-\(app)") != nil)
            #expect(try Self.containers(manifests).contains { $0["name"] as? String == "worker-\(app)" })
        }
    }

    @Test func twoAppsAssembleIntoConfigsTheLoaderAccepts() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML, "apps.d/shop.yaml": Self.app("shop", db: 1),
            "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        let result = try fleet.kube(["--listener", fleet.listener, "--storage-class", "fast", "--journal-size", "5Gi"])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.validate(fleet.out)
        let manifests = try Manifests(dir: fleet.out)
        try Self.checkReferences(manifests)

        let password = try #require(try manifests.contents("Secret", "mimic-redis")["password"])
        #expect(password.count == 48)
        let assembled = try Self.runConfigScript(manifests, in: fleet.dir.appendingPathComponent("pod"))
        let listener = try ConfigLoader.loadListener(
            text: try String(contentsOf: assembled.appendingPathComponent("listener.yaml"), encoding: .utf8),
            file: "/etc/mimic/listener.yaml")
        #expect(listener.supervise.enabled == false)
        #expect(listener.tokens.map(\.name) == ["ops", "waf-1"])
        #expect(listener.admin.host == "127.0.0.1")
        #expect(listener.http.host == "0.0.0.0" && listener.http.port == 7600)

        let containers = try Self.containers(manifests)
        let listenerUser = try #require(Self.runAsUser(containers, "listener"))
        for (app, db) in [("shop", 1), ("blog", 2)] {
            let text = try String(
                contentsOf: assembled.appendingPathComponent("apps.d/\(app).yaml"), encoding: .utf8)
            let config = try ConfigLoader.loadApp(text: text, file: "/etc/mimic/apps.d/\(app).yaml")
            #expect(config.redis.host == "mimic-redis" && config.redis.port == 6379 && config.redis.db == db)
            #expect(config.redis.password == password)
            #expect(config.runDir == "/run/mimic")
            #expect(text.contains("# \(app): the operator's own comment survives the rewrite"))
            // The uid boundaries of the compose fleet: each worker container runs as its app's
            // worker_uid, the listener as every app's listener_uid.
            #expect(config.workerUID == UInt32(10100 + db))
            #expect(Self.runAsUser(containers, "worker-\(app)") == Int(config.workerUID ?? 0))
            #expect(config.listenerUID == UInt32(listenerUser))
            let command = try #require(containers.first { $0["name"] as? String == "worker-\(app)" }?["command"])
            #expect(
                command as? [String] == [
                    "mimic-worker", "--config", "/etc/mimic/apps.d/\(app).yaml", "--run-dir", "/run/mimic",
                ])
        }
        #expect(listenerUser == 10000)

        // Secrets stay in Secrets: no file but the Secrets' holds a token or the password.
        for (file, object) in manifests.objects where object["kind"] as? String != "Secret" {
            let text = try String(contentsOfFile: "\(fleet.out)/\(file)", encoding: .utf8)
            for secret in Self.tokens + [password] {
                #expect(!text.contains(secret), "\(file) holds a secret value")
            }
        }
        let claims = try #require(try Self.statefulSet(manifests)["spec"] as? [String: Any])["volumeClaimTemplates"]
        let claim = try #require((claims as? [[String: Any]])?.first?["spec"] as? [String: Any])
        #expect(claim["storageClassName"] as? String == "fast")
        #expect(
            (claim["resources"] as? [String: Any]).flatMap { $0["requests"] as? [String: Any] }?["storage"] as? String
                == "5Gi")
    }

    @Test func regenerationKeepsThePasswordAndDropsRemovedApps() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML, "apps.d/shop.yaml": Self.app("shop", db: 1),
            "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        #expect(try fleet.kube(["--listener", fleet.listener]).status == 0)
        let first = try Manifests(dir: fleet.out).contents("Secret", "mimic-redis")["password"]
        let mine = "\(fleet.out)/notes.yaml"
        try "# the operator's own file\n".write(toFile: mine, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: "\(fleet.apps)/blog.yaml")
        #expect(try fleet.kube(["--listener", fleet.listener]).status == 0)
        let manifests = try Manifests(dir: fleet.out)
        #expect(try manifests.contents("Secret", "mimic-redis")["password"] == first)
        #expect(!FileManager.default.fileExists(atPath: "\(fleet.out)/app-blog.configmap.yaml"))
        #expect(FileManager.default.fileExists(atPath: mine))
        #expect(try !Self.containers(manifests).contains { $0["name"] as? String == "worker-blog" })
        try Self.checkReferences(manifests)
    }

    @Test func refusesWhatKubernetesOrTheFleetCannotRun() throws {
        let fleet = try Fleet([
            // Different servers for the loader, one Redis in the cluster: the db must differ.
            "apps.d/shop.yaml": Self.app("shop", db: 1),
            "apps.d/blog.yaml": ComposeTests.app("blog", db: 1, port: 6391),
        ])
        let shared = try fleet.kube()
        #expect(shared.status == 2)
        #expect(shared.stderr.contains("redis.db 1 is also app"))
        let badName = try fleet.kube(["--name", "Mimic"])
        #expect(badName.status == 2)
        #expect(badName.stderr.contains("--name Mimic"))
        let noTemplates = try Ctl.run(["kube", "--apps", fleet.apps, "--out", fleet.out, "--templates", "/nonexistent"])
        #expect(noTemplates.status == 2)
        #expect(noTemplates.stderr.contains("--templates /nonexistent"))
    }

    // MARK: - Cluster layout (--replicas N, N >= 2)

    /// An app whose `redis:` names the operator's Sentinel set, with passwords and a replica wait.
    static func sentinelApp(_ name: String, db: Int) -> String {
        app(name, db: db).replacingOccurrences(
            of: "  host: 10.1.2.3\n  port: 6390\n  db: \(db)\n",
            with: """
                  sentinel: { master: mimic, nodes: ["10.0.0.5:26379", "10.0.0.6:26379", "[fd00::7]:26379"], password: "\(sentinelPassword)" }
                  db: \(db)
                  password: "\(redisPassword)"
                  wait: { replicas: 1, timeout: 500ms }

                """)
    }

    static let sentinelPassword = "sentinel-pass-0123456789"
    static let redisPassword = "redis-pass-0123456789"

    /// The pod's assembled listener.yaml and app configs, loaded with the strict loader.
    static func assembledConfigs(_ manifests: Manifests, _ fleet: Fleet, apps: [String]) throws
        -> (ListenerConfig, [String: AppConfig])
    {
        let assembled = try runConfigScript(manifests, in: fleet.dir.appendingPathComponent("pod"))
        let listener = try ConfigLoader.loadListener(
            text: try String(contentsOf: assembled.appendingPathComponent("listener.yaml"), encoding: .utf8),
            file: "/etc/mimic/listener.yaml")
        var configs: [String: AppConfig] = [:]
        for app in apps {
            configs[app] = try ConfigLoader.loadApp(
                text: try String(contentsOf: assembled.appendingPathComponent("apps.d/\(app).yaml"), encoding: .utf8),
                file: "/etc/mimic/apps.d/\(app).yaml")
        }
        return (listener, configs)
    }

    /// No file but the Secrets' holds any of `secrets`.
    static func checkSecretsStayInSecrets(_ manifests: Manifests, _ dir: String, _ secrets: [String]) throws {
        for (file, object) in manifests.objects where object["kind"] as? String != "Secret" {
            let text = try String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)
            for secret in secrets {
                #expect(!text.contains(secret), "\(file) holds a secret value")
            }
        }
    }

    /// The cluster layout's scheduler pods: one listener container that starts the workers itself,
    /// no capability, nothing as root, no journal claim.
    static func checkClusterPods(_ manifests: Manifests) throws {
        let set = try statefulSet(manifests)
        #expect(spec(set)["volumeClaimTemplates"] == nil, "no journal claim: the journal is in Redis")
        let pod = try podSpec(set)
        let containers = try Self.containers(manifests)
        #expect(containers.map { $0["name"] as? String } == ["listener"])
        let initContainers = try #require(pod["initContainers"] as? [[String: Any]])
        #expect(initContainers.map { $0["name"] as? String } == ["config"])
        for container in containers + initContainers {
            let context = try #require(container["securityContext"] as? [String: Any])
            #expect(context["runAsUser"] as? Int == 10000)
            #expect(context["runAsNonRoot"] as? Bool == true)
            #expect(context["allowPrivilegeEscalation"] as? Bool == false)
            #expect(context["privileged"] == nil)
            #expect(context["capabilities"] as? [String: [String]] == ["drop": ["ALL"]])
        }
        let podContext = try #require(pod["securityContext"] as? [String: Any])
        #expect(podContext["runAsUser"] as? Int == 10000 && podContext["runAsNonRoot"] as? Bool == true)
        let listener = try #require(containers.first)
        for probe in ["readinessProbe", "livenessProbe"] {
            let get = (listener[probe] as? [String: Any])?["httpGet"] as? [String: Any]
            #expect(get?["path"] as? String == "/healthz" && get?["port"] as? String == "http", "\(probe)")
        }
        let volumes = try #require(pod["volumes"] as? [[String: Any]])
        let journal = try #require(volumes.first { $0["name"] as? String == "journal" })
        #expect(journal["emptyDir"] != nil)
        // The ingress Service spans every scheduler pod: it selects by the pods' labels only.
        let ingress = try #require(manifests.named("Service", "mimic-ingress"))
        #expect(spec(ingress)["selector"] as? [String: String] == (try podLabels(set)))
        #expect((try podLabels(set)).keys.sorted() == ["app.kubernetes.io/instance", "app.kubernetes.io/name"])
    }

    @Test func clusterLayoutOnTheRenderedRedis() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML, "apps.d/shop.yaml": Self.app("shop", db: 1),
            "apps.d/blog.yaml": Self.app("blog", db: 2),
        ])
        let result = try fleet.kube(["--listener", fleet.listener, "--replicas", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("cluster layout: 3 scheduler pods, leases in Redis db 15"))
        try Self.validate(fleet.out)
        let manifests = try Manifests(dir: fleet.out)
        try Self.checkReferences(manifests, schedulerReplicas: 3, maxUnavailable: 1)
        try Self.checkClusterPods(manifests)
        let budget = try #require(manifests.all("PodDisruptionBudget").first)
        #expect(Self.spec(budget)["maxUnavailable"] as? Int == 1)

        let password = try #require(try manifests.contents("Secret", "mimic-redis")["password"])
        let (listener, apps) = try Self.assembledConfigs(manifests, fleet, apps: ["shop", "blog"])
        #expect(listener.supervise.enabled)
        #expect(listener.supervise.worker == "mimic-worker")
        let cluster = try #require(listener.cluster, "cluster mode is on")
        #expect(cluster.redis.host == "mimic-redis" && cluster.redis.port == 6379)
        #expect(cluster.redis.db == 15 && cluster.redis.password == password && cluster.redis.sentinel == nil)
        #expect(cluster.lease == .seconds(3))
        // Each pod's instance is its host name, the pod name: no instance key in the file.
        #expect(listener.instance == ListenerConfig.defaultInstance)
        #expect(listener.tokens.map(\.name) == ["ops", "waf-1"])
        #expect(listener.journalDir == "/var/lib/mimic/journal" && listener.runDir == "/run/mimic")
        for (app, db) in [("shop", 1), ("blog", 2)] {
            let config = try #require(apps[app])
            #expect(config.redis.host == "mimic-redis" && config.redis.port == 6379 && config.redis.db == db)
            #expect(config.redis.password == password)
            #expect(config.redis.db != cluster.redis.db)
            // The listener starts the workers with its own uid.
            #expect(config.workerUID == 10000 && config.listenerUID == 10000)
        }
        // Redis has the leases' db.
        let redis = try #require(manifests.named("StatefulSet", "mimic-redis"))
        let redisContainers = try #require(try Self.podSpec(redis)["containers"] as? [[String: Any]])
        let redisCommand = try #require(redisContainers.first?["command"] as? [String])
        let databases = try #require(redisCommand.firstIndex(of: "--databases").map { redisCommand[$0 + 1] })
        #expect(Int(databases).map { $0 > cluster.redis.db } == true)
        try Self.checkSecretsStayInSecrets(manifests, fleet.out, Self.tokens + [password])

        // Back to one pod: the one-machine layout, files and all, with the same password.
        #expect(try fleet.kube(["--listener", fleet.listener]).status == 0)
        let single = try Manifests(dir: fleet.out)
        try Self.checkReferences(single)
        #expect(try single.contents("Secret", "mimic-redis")["password"] == password)
        #expect(try single.contents("Secret", "mimic-redis")["cluster.yaml"] == nil)
    }

    @Test func clusterLayoutKeepsTheOperatorsSentinelSet() throws {
        let leases = """
            cluster:
              redis: { sentinel: { master: leases, nodes: ["10.0.1.5:26379"], password: "\(Self.sentinelPassword)" }, db: 14, password: "\(Self.redisPassword)" }
              lease: 5s
            instance: sched-a
            """
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML + "\n" + leases + "\n",
            "apps.d/shop.yaml": Self.sentinelApp("shop", db: 1), "apps.d/blog.yaml": Self.sentinelApp("blog", db: 2),
        ])
        let result = try fleet.kube(["--listener", fleet.listener, "--replicas", "2", "--name", "mimic"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("instance: sched-a is left out"))
        try Self.validate(fleet.out)
        let manifests = try Manifests(dir: fleet.out)
        // Redis and Sentinel run outside: no Redis is rendered.
        try Self.checkReferences(manifests, schedulerReplicas: 2, maxUnavailable: 1, renderedRedis: false)
        #expect(manifests.named("Service", "mimic-redis") == nil)
        try Self.checkClusterPods(manifests)
        let secret = try manifests.contents("Secret", "mimic-redis")
        #expect(secret["password"] == nil && secret["redis.conf"] == nil)

        let (listener, apps) = try Self.assembledConfigs(manifests, fleet, apps: ["shop", "blog"])
        #expect(listener.supervise.enabled)
        #expect(listener.instance == ListenerConfig.defaultInstance)
        let cluster = try #require(listener.cluster)
        #expect(cluster.lease == .seconds(5))
        #expect(cluster.redis.db == 14 && cluster.redis.password == Self.redisPassword)
        #expect(
            cluster.redis.sentinel
                == SentinelSettings(
                    master: "leases", nodes: [.init(host: "10.0.1.5", port: 26379)], password: Self.sentinelPassword))
        for (app, db) in [("shop", 1), ("blog", 2)] {
            let config = try #require(apps[app])
            let original = try ConfigLoader.loadApp(path: "\(fleet.apps)/\(app).yaml")
            #expect(config.redis == original.redis, "\(app): the operator's redis block, as given")
            #expect(config.redis.db == db && config.redis.sentinel?.nodes.count == 3)
            #expect(config.redis.sentinel?.nodes.last == .init(host: "fd00::7", port: 26379))
            #expect(config.redis.wait == ReplicaWait(replicas: 1, timeout: .milliseconds(500)))
            #expect(config.workerUID == 10000 && config.listenerUID == 10000)
        }
        try Self.checkSecretsStayInSecrets(
            manifests, fleet.out, Self.tokens + [Self.redisPassword, Self.sentinelPassword])
    }

    @Test func clusterLeasesDefaultToTheSentinelSetOfTheApps() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML, "apps.d/shop.yaml": Self.sentinelApp("shop", db: 15),
        ])
        let result = try fleet.kube(["--listener", fleet.listener, "--replicas", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.validate(fleet.out)
        let manifests = try Manifests(dir: fleet.out)
        try Self.checkReferences(manifests, schedulerReplicas: 2, maxUnavailable: 1, renderedRedis: false)
        let (listener, apps) = try Self.assembledConfigs(manifests, fleet, apps: ["shop"])
        let cluster = try #require(listener.cluster)
        let shop = try #require(apps["shop"])
        // The apps' Sentinel set, in the highest db no app uses.
        #expect(cluster.redis.sentinel == shop.redis.sentinel && cluster.redis.wait == shop.redis.wait)
        #expect(cluster.redis.db == 14 && cluster.redis.password == Self.redisPassword)
    }

    @Test func refusesAClusterLayoutItCannotRender() throws {
        let fleet = try Fleet([
            "listener.yaml": Self.listenerYAML, "apps.d/shop.yaml": Self.app("shop", db: 1),
        ])
        for (arguments, message) in [
            (["--replicas", "0"], "--replicas 0: expected 1 (the one-machine pod) or 2 or more (the cluster layout)"),
            (["--replicas=-2"], "--replicas -2"),
            (
                ["--replicas", "2", "--journal-size", "5Gi"],
                "--journal-size: the cluster layout (--replicas 2) has no journal volume"
            ),
        ] {
            let result = try fleet.kube(["--listener", fleet.listener] + arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: fleet.out), "nothing written")

        // The leases' db is an app's: the listener would refuse to start, kube says so first.
        let clash = Self.listenerYAML + "\ncluster: { redis: { host: 10.1.2.3, port: 6390, db: 1 } }\n"
        try clash.write(toFile: fleet.listener, atomically: true, encoding: .utf8)
        let sameDB = try fleet.kube(["--listener", fleet.listener, "--replicas", "2"])
        #expect(sameDB.status == 2)
        #expect(sameDB.stderr.contains("cluster.redis.db 1 is app shop's"), "\(sameDB.stderr)")

        // Some apps on the operator's Sentinel set and some not: no one Redis for the leases.
        try Self.listenerYAML.write(toFile: fleet.listener, atomically: true, encoding: .utf8)
        try Self.sentinelApp("blog", db: 2).write(
            toFile: "\(fleet.apps)/blog.yaml", atomically: true, encoding: .utf8)
        try Self.app("shop", db: 1).replacingOccurrences(
            of: "  db: 1", with: "  db: 1\n  password: \"\(Self.redisPassword)\""
        )
        .write(toFile: "\(fleet.apps)/shop.yaml", atomically: true, encoding: .utf8)
        let mixed = try fleet.kube(["--listener", fleet.listener, "--replicas", "2"])
        #expect(mixed.status == 2)
        #expect(mixed.stderr.contains("redis names sentinels but app shop's"), "\(mixed.stderr)")
    }

    // MARK: - Checks

    static func statefulSet(_ manifests: Manifests) throws -> [String: Any] {
        try #require(manifests.named("StatefulSet", "mimic-scheduler"))
    }

    static func podSpec(_ object: [String: Any]) throws -> [String: Any] {
        let template = try #require(spec(object)["template"] as? [String: Any])
        return try #require(template["spec"] as? [String: Any])
    }

    static func podLabels(_ object: [String: Any]) throws -> [String: String] {
        let template = try #require(spec(object)["template"] as? [String: Any])
        return try #require(meta(template)["labels"] as? [String: String])
    }

    static func containers(_ manifests: Manifests) throws -> [[String: Any]] {
        try #require(try podSpec(statefulSet(manifests))["containers"] as? [[String: Any]])
    }

    static func runAsUser(_ containers: [[String: Any]], _ name: String) -> Int? {
        let container = containers.first { $0["name"] as? String == name }
        return (container?["securityContext"] as? [String: Any])?["runAsUser"] as? Int
    }

    /// Everything a pod spec names exists in the output; selectors select the pods; ports line up.
    /// The defaults are the one-machine layout's: the scheduler and Redis, one pod each, no
    /// voluntary eviction.
    static func checkReferences(
        _ manifests: Manifests, schedulerReplicas: Int = 1, maxUnavailable: Int = 0, renderedRedis: Bool = true
    ) throws {
        let sets = manifests.all("StatefulSet")
        #expect(sets.count == (renderedRedis ? 2 : 1))
        #expect((manifests.named("StatefulSet", "mimic-redis") != nil) == renderedRedis)
        for set in sets {
            let setSpec = spec(set)
            let setName = meta(set)["name"] as? String ?? "?"
            #expect(
                setSpec["replicas"] as? Int == (setName == "mimic-scheduler" ? schedulerReplicas : 1),
                "\(setName): replicas")
            let template = try #require(setSpec["template"] as? [String: Any])
            let labels = try #require(meta(template)["labels"] as? [String: String])
            let matchLabels = try #require((setSpec["selector"] as? [String: Any])?["matchLabels"] as? [String: String])
            #expect(matchLabels.allSatisfy { labels[$0.key] == $0.value }, "\(setName): selector")
            #expect(
                manifests.named("Service", setSpec["serviceName"] as? String ?? "") != nil, "\(setName): serviceName")
            let pod = try podSpec(set)
            if let account = pod["serviceAccountName"] as? String {
                #expect(manifests.named("ServiceAccount", account) != nil, "\(setName): serviceAccount \(account)")
            }
            let volumes = pod["volumes"] as? [[String: Any]] ?? []
            let claims = (setSpec["volumeClaimTemplates"] as? [[String: Any]] ?? []).compactMap {
                meta($0)["name"] as? String
            }
            let volumeNames = Set(volumes.compactMap { $0["name"] as? String } + claims)
            for volume in volumes {
                try checkVolume(volume, manifests, setName)
            }
            let all = (pod["initContainers"] as? [[String: Any]] ?? []) + (pod["containers"] as? [[String: Any]] ?? [])
            for container in all {
                for mount in container["volumeMounts"] as? [[String: Any]] ?? [] {
                    let name = mount["name"] as? String ?? ""
                    #expect(volumeNames.contains(name), "\(setName)/\(container["name"] ?? ""): mount of \(name)")
                }
            }
            let ports = Set(
                (pod["containers"] as? [[String: Any]] ?? []).flatMap { $0["ports"] as? [[String: Any]] ?? [] }
                    .compactMap { $0["name"] as? String })
            for service in manifests.all("Service") {
                let serviceSpec = Self.spec(service)
                let selector = serviceSpec["selector"] as? [String: String] ?? [:]
                guard selector == matchLabels else { continue }
                #expect(selector.allSatisfy { labels[$0.key] == $0.value })
                for port in serviceSpec["ports"] as? [[String: Any]] ?? [] {
                    let target = port["targetPort"] as? String ?? ""
                    #expect(ports.contains(target), "Service \(meta(service)["name"] ?? ""): targetPort \(target)")
                }
            }
        }
        // Every Service selects the pods of one of the StatefulSets.
        let podLabels = try sets.map(Self.podLabels)
        for service in manifests.all("Service") {
            let selector = spec(service)["selector"] as? [String: String] ?? [:]
            #expect(podLabels.contains { labels in selector.allSatisfy { labels[$0.key] == $0.value } })
        }
        let budgets = manifests.all("PodDisruptionBudget")
        #expect(budgets.count == 1)
        for budget in budgets {
            let matchLabels = (spec(budget)["selector"] as? [String: Any])?["matchLabels"] as? [String: String] ?? [:]
            let scheduler = try Self.podLabels(statefulSet(manifests))
            #expect(!matchLabels.isEmpty && matchLabels.allSatisfy { scheduler[$0.key] == $0.value })
            #expect(spec(budget)["maxUnavailable"] as? Int == maxUnavailable)
        }
        for container in try containers(manifests) {
            #expect(container["readinessProbe"] != nil && container["livenessProbe"] != nil)
            let resources = container["resources"] as? [String: Any]
            #expect(resources?["requests"] != nil && resources?["limits"] != nil)
        }
    }

    /// A volume's ConfigMaps and Secrets exist and hold the keys it projects.
    static func checkVolume(_ volume: [String: Any], _ manifests: Manifests, _ owner: String) throws {
        var sources: [(String, [String: Any])] = []
        for kind in ["configMap", "secret"] {
            if let source = volume[kind] as? [String: Any] { sources.append((kind, source)) }
        }
        for source in (volume["projected"] as? [String: Any])?["sources"] as? [[String: Any]] ?? [] {
            for (kind, value) in source { sources.append((kind, value as? [String: Any] ?? [:])) }
        }
        for (kind, source) in sources {
            let isSecret = kind == "secret"
            let name = (source[isSecret && source["secretName"] != nil ? "secretName" : "name"] as? String) ?? ""
            let contents = try manifests.contents(isSecret ? "Secret" : "ConfigMap", name)
            for item in source["items"] as? [[String: Any]] ?? [] {
                let key = item["key"] as? String ?? ""
                #expect(contents[key] != nil, "\(owner): \(kind) \(name) has no key \(key)")
            }
        }
    }

    /// Lays out the pod's projected volumes from the manifests and runs the config init
    /// container's script against them (its paths moved under `root`), as the pod would.
    static func runConfigScript(_ manifests: Manifests, in root: URL) throws -> URL {
        let pod = try podSpec(statefulSet(manifests))
        let initContainer = try #require(
            (pod["initContainers"] as? [[String: Any]])?.first { $0["name"] as? String == "config" })
        let command = try #require(initContainer["command"] as? [String])
        #expect(command.prefix(2) == ["sh", "-c"])
        let mounts = try #require(initContainer["volumeMounts"] as? [[String: Any]])
        var script = try #require(command.last)
        for mount in mounts {
            let name = try #require(mount["name"] as? String)
            let path = try #require(mount["mountPath"] as? String)
            let local = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: local, withIntermediateDirectories: true)
            script = script.replacingOccurrences(of: path + "/", with: local.path + "/")
            let volume = try #require((pod["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == name })
            for source in (volume["projected"] as? [String: Any])?["sources"] as? [[String: Any]] ?? [] {
                for (kind, value) in source {
                    let source = value as? [String: Any] ?? [:]
                    let contents = try manifests.contents(
                        kind == "secret" ? "Secret" : "ConfigMap", source["name"] as? String ?? "")
                    for item in source["items"] as? [[String: Any]] ?? [] {
                        let file = local.appendingPathComponent(item["path"] as? String ?? "")
                        try FileManager.default.createDirectory(
                            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                        try #require(contents[item["key"] as? String ?? ""]).write(
                            to: file, atomically: true, encoding: .utf8)
                    }
                }
            }
        }
        _ = try ChildProcess.run(executable: "/bin/sh", arguments: ["-c", script])
        return root.appendingPathComponent("config")
    }

    static func spec(_ object: [String: Any]) -> [String: Any] { object["spec"] as? [String: Any] ?? [:] }
}

private func meta(_ object: [String: Any]) -> [String: Any] { object["metadata"] as? [String: Any] ?? [:] }
