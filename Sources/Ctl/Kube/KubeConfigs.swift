import Foundation
import Shared

/// The configs the pod reads, split so that no secret lands in a ConfigMap: the Redis password
/// and the tokens go to Secrets, everything else to ConfigMaps, and an init container joins each
/// pair into the file the process reads. The config loader has no key that reads a secret from
/// a file, so the split is by whole top-level keys (`redis:`, `cluster:` and `tokens:`), and each
/// joined file is loaded back here with the strict loader before anything is written.
struct KubeConfigs {
    struct App {
        var name: String
        /// The in-container app config without its `redis:` line.
        var config: String
        /// The `redis:` line with the password.
        var redis: String
    }

    var apps: [App]
    /// listener.yaml without its `cluster:` and `tokens:` keys.
    var listener: String
    /// The cluster layout's `cluster:` line of listener.yaml (it holds the leases' Redis
    /// password); empty in the one-machine layout.
    var cluster: String
    /// The `tokens:` key of listener.yaml, plaintext or hashed as the operator wrote them.
    var tokens: String
    var password: String

    init(
        apps configs: [AppConfig], listener: ListenerConfig?, redis: ComposeRedis, password: String,
        cluster: KubeCluster? = nil
    ) throws {
        guard !password.contains(where: { $0.isNewline || $0 == "\"" }) else {
            throw CtlFailure.usage("redis.password: must not contain a newline or a double quote")
        }
        self.password = password
        apps = try configs.map { app in
            let text = try String(contentsOfFile: app.sourceFile, encoding: .utf8)
            var header = [
                "\(KubeCommand.marker) from \(app.sourceFile): run_dir is the pod's socket volume,",
                "# the uids the fleet's. The `redis:` line, with the password, is in the Secret and joined",
                "# to this file at pod start. Edit the original and generate again.",
            ]
            if let cluster {
                header[1] =
                    cluster.redis == .sentinel
                    ? "# redis as the operator gave it (the Sentinel set), the uids the pod's. The `redis:` line,"
                    : "# redis the rendered one, the uids the pod's. The `redis:` line, with the password,"
                header[2] =
                    cluster.redis == .sentinel
                    ? "# with the password, is in the Secret and joined at pod start. Edit the original and generate again."
                    : "# is in the Secret and joined at pod start. Edit the original and generate again."
            }
            var joined = try ContainerConfig.app(
                app, text: text, redis: redis, password: cluster?.redis == .sentinel ? app.redis.password : password,
                header: header)
            if let cluster { joined = try Self.clusterApp(joined, app, cluster) }
            var lines = joined.components(separatedBy: "\n")
            guard let index = lines.firstIndex(where: { $0.hasPrefix("redis: {") }) else {
                throw CtlFailure.runtime("\(app.sourceFile): the in-container config has no redis line")
            }
            let redisLine = lines.remove(at: index)
            return App(name: app.app, config: lines.joined(separator: "\n"), redis: redisLine + "\n")
        }
        let header =
            cluster == nil
            ? [
                "\(KubeCommand.marker)\(listener.map { " from \($0.sourceFile)" } ?? ""): in-container paths and binds,",
                "# supervision off (each worker is a container of the pod). The `tokens:` key is in the Secret",
                "# and joined to this file at pod start.",
            ]
            : [
                "\(KubeCommand.marker)\(listener.map { " from \($0.sourceFile)" } ?? ""): in-container paths and binds,",
                "# cluster mode with supervision on (the listener starts the workers of the apps its pod owns;",
                "# instance: the host name, i.e. the pod name). The `cluster:` key, with the Redis password,",
                "# and the `tokens:` key are in Secrets and joined to this file at pod start.",
            ]
        var full = try ContainerConfig.listener(listener, generator: "mimicctl kube", header: header)
        if let cluster { full = try Self.clusterListener(full, cluster) }
        let lines = full.components(separatedBy: "\n")
        guard let tokensIndex = lines.firstIndex(where: { $0.hasPrefix("tokens:") }) else {
            throw CtlFailure.runtime("the generated listener.yaml has no tokens key")
        }
        let clusterIndex = lines.firstIndex { $0.hasPrefix("cluster:") } ?? tokensIndex
        self.listener = lines[..<clusterIndex].joined(separator: "\n") + "\n"
        self.cluster =
            clusterIndex < tokensIndex ? lines[clusterIndex..<tokensIndex].joined(separator: "\n") + "\n" : ""
        tokens = lines[tokensIndex...].joined(separator: "\n")
        // The split must be undone exactly by the init container's `cat`.
        guard self.listener + self.cluster + tokens == full else {
            throw CtlFailure.runtime("splitting listener.yaml into its ConfigMap and Secrets failed")
        }
        for (app, config) in zip(apps, configs) where !password.isEmpty && app.config.contains(password) {
            throw CtlFailure.usage(
                "\(config.sourceFile): the Redis password appears outside the redis key (in a comment?); remove it, ConfigMaps are not secret"
            )
        }
    }

    /// The listener's uid is every worker's in the cluster layout: the listener starts them
    /// itself and its supervisor changes no uid. With the Sentinel form the operator's `redis:`
    /// block replaces the rendered Redis's. Loaded back and compared, as ContainerConfig does.
    private static func clusterApp(_ text: String, _ app: AppConfig, _ cluster: KubeCluster) throws -> String {
        let file = "\(ContainerConfig.appsDir)/\(app.app).yaml"
        var lines = text.components(separatedBy: "\n")
        for index in lines.indices {
            if lines[index].hasPrefix("worker_uid:") {
                lines[index] = "worker_uid: \(ContainerConfig.listenerUID)"
            } else if cluster.redis == .sentinel, lines[index].hasPrefix("redis: {") {
                lines[index] = "redis: \(KubeCluster.flow(app.redis))"
            }
        }
        let result = lines.joined(separator: "\n")
        var expected: AppConfig
        let loaded: AppConfig
        do throws(ConfigErrors) {
            expected = try ConfigLoader.loadApp(text: text, file: file)
            loaded = try ConfigLoader.loadApp(text: result, file: file)
        } catch {
            throw CtlFailure.runtime(
                "\(app.sourceFile): the cluster layout's copy does not load: \(error.issues.first?.description ?? "")")
        }
        expected.workerUID = UInt32(ContainerConfig.listenerUID)
        if cluster.redis == .sentinel { expected.redis = app.redis }
        guard loaded == expected else {
            throw CtlFailure.runtime("\(app.sourceFile): the cluster layout's copy changed other settings")
        }
        return result
    }

    /// Supervision on and `cluster:` added to the one-machine listener.yaml, loaded back strictly.
    private static func clusterListener(_ text: String, _ cluster: KubeCluster) throws -> String {
        var lines = text.components(separatedBy: "\n")
        guard let supervise = lines.firstIndex(where: { $0.hasPrefix("supervise:") }),
            let tokens = lines.firstIndex(where: { $0.hasPrefix("tokens:") })
        else {
            throw CtlFailure.runtime("the generated listener.yaml has no supervise or tokens key")
        }
        lines[supervise] = "supervise: { enabled: true, worker: mimic-worker }"
        lines.insert(cluster.line, at: tokens)
        let result = lines.joined(separator: "\n")
        let loaded: ListenerConfig
        do throws(ConfigErrors) {
            loaded = try ConfigLoader.loadListener(text: result, file: "/etc/mimic/listener.yaml")
        } catch {
            throw CtlFailure.runtime(
                "the generated listener.yaml does not load: \(error.issues.first?.description ?? "")")
        }
        guard loaded.supervise.enabled, loaded.cluster?.redis == cluster.leases, loaded.cluster?.lease == cluster.lease
        else {
            throw CtlFailure.runtime("the generated listener.yaml's cluster key does not read back as written")
        }
        return result
    }

    /// Changes whenever any config or secret changes; the pod template carries it, so
    /// `kubectl apply` restarts the pod with the new configs (the init container reads them once).
    var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        // `cluster` only when present: the one-machine pod's fingerprint stays what it was.
        let parts =
            [listener, tokens, password] + apps.flatMap { [$0.name, $0.config, $0.redis] }
            + (cluster.isEmpty ? [] : [cluster])
        for byte in parts.joined(separator: "\u{0}").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
