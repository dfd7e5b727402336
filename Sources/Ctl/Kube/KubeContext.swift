import Foundation
import Shared

/// The values the kube templates see. As in ComposeContext, strings that land in YAML are
/// pre-quoted as JSON strings and lists as JSON arrays, so templates use `{{{raw}}}` and no value
/// can break a manifest's structure; config files go into ConfigMaps as indented block scalars so
/// they stay readable there.
struct KubeContext {
    var name: String
    var image: String
    var redisImage: String
    var stopGraceSeconds: Int
    var journalSize: String
    var redisSize: String
    var storageClass: String?
    /// The cluster layout's choices; nil renders the one-machine pod.
    var cluster: KubeCluster? = nil

    /// The templates a layout renders: an operator's own --templates directory for the
    /// one-machine pod need not have the cluster layout's, nor the other way round.
    static func requiredTemplates(cluster: Bool) -> [String] {
        cluster ? templates.map { $0 == "scheduler.statefulset.yaml" ? clusterStatefulSet : $0 } : templates
    }
    static let clusterStatefulSet = "scheduler-cluster.statefulset.yaml"

    static let templates = [
        "serviceaccount.yaml", "listener.configmap.yaml", "app.configmap.yaml", "tokens.secret.yaml",
        "redis.secret.yaml", "redis.statefulset.yaml", "redis.service.yaml", "scheduler.statefulset.yaml",
        "scheduler.service.yaml", "ingress.service.yaml", "scheduler.pdb.yaml",
    ]
    static let redisSecretFile = "redis.secret.yaml"
    static let passwordKey = "password"
    static let redisPort = 6379

    /// The workers reach Redis through its Service, in the fleet's namespace.
    var redis: ComposeRedis { ComposeRedis(host: "\(name)-redis", port: Self.redisPort) }

    private func quoted(_ text: String) -> String { ContainerConfig.quoted(text) }

    private func array(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }

    /// A YAML literal block scalar's body, indented under a key at `indent - 2` spaces.
    private func block(_ text: String, indent: Int = 4) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
    }

    private var names: [String: Any] {
        [
            "name": name, "scheduler": "\(name)-scheduler", "ingress": "\(name)-ingress",
            "serviceAccount": "\(name)-scheduler", "redisName": "\(name)-redis", "tokensSecret": "\(name)-tokens",
            "redisSecret": "\(name)-redis", "listenerConfigMap": "\(name)-listener",
            "image": quoted(image), "redisImage": quoted(redisImage), "runDir": quoted(ContainerConfig.runDir),
            "journalDir": quoted(ContainerConfig.journalDir), "httpPort": ContainerConfig.httpPort,
            "tcpPort": ContainerConfig.tcpPort, "redisPort": Self.redisPort,
            "listenerUID": ContainerConfig.listenerUID, "fleetGID": ContainerConfig.fleetGID,
            "stopGraceSeconds": stopGraceSeconds, "journalSize": quoted(journalSize), "redisSize": quoted(redisSize),
            "storageClass": storageClass.map(quoted) ?? false,
            // The one-machine pod allows no voluntary eviction (it is every app's only
            // listener); in the cluster layout the other pods take an evicted pod's apps.
            "cluster": cluster != nil, "maxUnavailable": cluster == nil ? 0 : 1,
            "renderedRedis": cluster.map { $0.redis == .rendered } ?? true,
            "sentinelRedis": cluster?.redis == .sentinel,
        ]
    }

    private func appConfigMap(_ app: String) -> String { "\(name)-app-\(app)" }

    /// Every manifest: its template, its file in the output directory and its values.
    func manifests(_ apps: [AppConfig], configs: KubeConfigs) -> [(String, String, [String: Any])] {
        var result: [(String, String, [String: Any])] = []
        let base = names
        func add(_ template: String, _ file: String, _ extra: [String: Any] = [:]) {
            result.append((template, file, base.merging(extra) { _, new in new }))
        }
        add("serviceaccount.yaml", "serviceaccount.yaml")
        add("listener.configmap.yaml", "listener.configmap.yaml", ["listenerYAML": block(configs.listener)])
        for app in configs.apps {
            add(
                "app.configmap.yaml", "app-\(app.name).configmap.yaml",
                ["app": app.name, "configMap": appConfigMap(app.name), "configYAML": block(app.config)])
        }
        add("tokens.secret.yaml", "tokens.secret.yaml", ["tokensYAML": quoted(configs.tokens)])
        add(
            "redis.secret.yaml", Self.redisSecretFile,
            [
                "password": quoted(configs.password),
                "redisConf": quoted("requirepass \"\(configs.password)\"\n"),
                "apps": configs.apps.map { ["key": quoted("\($0.name).redis.yaml"), "value": quoted($0.redis)] },
                "clusterYAML": configs.cluster.isEmpty ? false as Any : quoted(configs.cluster) as Any,
            ])
        // With the operator's Sentinel set, Redis runs outside: kube renders none.
        if cluster?.redis != .sentinel {
            add(
                "redis.statefulset.yaml", "redis.statefulset.yaml",
                [
                    "redisCommand": array([
                        "redis-server", "/etc/redis/redis.conf", "--appendonly", "yes", "--databases",
                        "\(DeployInputs.redisDatabases(apps))", "--port", "\(Self.redisPort)",
                    ])
                ])
            add("redis.service.yaml", "redis.service.yaml")
        }
        if let cluster {
            add(
                Self.clusterStatefulSet, "scheduler.statefulset.yaml",
                clusterScheduler(apps, configs: configs, cluster: cluster))
        } else {
            add("scheduler.statefulset.yaml", "scheduler.statefulset.yaml", scheduler(apps, configs: configs))
        }
        add("scheduler.service.yaml", "scheduler.service.yaml")
        add("ingress.service.yaml", "ingress.service.yaml")
        add("scheduler.pdb.yaml", "scheduler.pdb.yaml")
        return result
    }

    /// Runs as the listener's uid with umask 027: the joined files are readable by the fleet's
    /// group (every worker) and nobody else, and live in memory, not on the node's disk.
    private func configScript(_ configs: KubeConfigs) -> String {
        let clusterPart = configs.cluster.isEmpty ? "" : " /etc/mimic-secrets/\(Self.clusterKey)"
        var script = [
            "set -eu", "umask 027", "mkdir -p /etc/mimic/apps.d",
            "cat /etc/mimic-source/listener.yaml\(clusterPart) /etc/mimic-secrets/tokens.yaml > /etc/mimic/listener.yaml",
        ]
        for app in configs.apps {
            script.append(
                "cat /etc/mimic-source/apps.d/\(app.name).yaml /etc/mimic-secrets/redis/\(app.name).yaml > /etc/mimic/apps.d/\(app.name).yaml"
            )
        }
        return array(["sh", "-c", script.joined(separator: "\n")])
    }

    /// The Redis Secret's key holding listener.yaml's `cluster:` line.
    static let clusterKey = "cluster.yaml"

    private func configItems(_ configs: KubeConfigs) -> [[String: Any]] {
        configs.apps.map { app -> [String: Any] in
            [
                "configMap": appConfigMap(app.name), "configKey": quoted("\(app.name).yaml"),
                "configPath": quoted("apps.d/\(app.name).yaml"), "redisKey": quoted("\(app.name).redis.yaml"),
                "redisPath": quoted("redis/\(app.name).yaml"),
            ]
        }
    }

    private func clusterScheduler(_ apps: [AppConfig], configs: KubeConfigs, cluster: KubeCluster) -> [String: Any] {
        let values: [String: Any] = [
            "fingerprint": quoted(configs.fingerprint), "configScript": configScript(configs),
            "listenerCommand": array(["mimic-listener", "--config", "/etc/mimic/listener.yaml"]),
            "replicas": cluster.replicas, "appCount": apps.count, "clusterKey": quoted(Self.clusterKey),
            "apps": configItems(configs),
            "appNames": apps.map(\.app).joined(separator: ", "),
        ]
        return values.merging(cluster.resources(apps: apps.count)) { _, new in new }
    }

    private func scheduler(_ apps: [AppConfig], configs: KubeConfigs) -> [String: Any] {
        [
            "fingerprint": quoted(configs.fingerprint),
            "configScript": configScript(configs),
            "listenerCommand": array(["mimic-listener", "--config", "/etc/mimic/listener.yaml"]),
            "apps": apps.map { app -> [String: Any] in
                [
                    "app": app.app, "appQuoted": quoted(app.app), "configMap": appConfigMap(app.app),
                    "container": "worker-\(app.app)", "workerUID": ContainerConfig.workerUID(app),
                    "db": app.redis.db,
                    "configKey": quoted("\(app.app).yaml"), "configPath": quoted("apps.d/\(app.app).yaml"),
                    "redisKey": quoted("\(app.app).redis.yaml"), "redisPath": quoted("redis/\(app.app).yaml"),
                    "command": array([
                        "mimic-worker", "--config", "\(ContainerConfig.appsDir)/\(app.app).yaml", "--run-dir",
                        ContainerConfig.runDir,
                    ]),
                    "probe": array(["mimicctl", "ping", app.app, "--run-dir", ContainerConfig.runDir]),
                ]
            },
        ]
    }
}
