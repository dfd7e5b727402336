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
    static func checkReferences(_ manifests: Manifests) throws {
        let sets = manifests.all("StatefulSet")
        #expect(sets.count == 2)
        for set in sets {
            let setSpec = spec(set)
            let setName = meta(set)["name"] as? String ?? "?"
            #expect(setSpec["replicas"] as? Int == 1, "\(setName): replicas")
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
            #expect(spec(budget)["maxUnavailable"] as? Int == 0)
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
