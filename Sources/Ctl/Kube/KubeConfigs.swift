import Foundation
import Shared

/// The configs the pod reads, split so that no secret lands in a ConfigMap: the Redis password
/// and the tokens go to Secrets, everything else to ConfigMaps, and an init container joins each
/// pair into the file the process reads. The config loader has no key that reads a secret from
/// a file, so the split is by whole top-level keys (`redis:` and `tokens:`), and each joined
/// file is loaded back here with the strict loader before anything is written.
struct KubeConfigs {
    struct App {
        var name: String
        /// The in-container app config without its `redis:` line.
        var config: String
        /// The `redis:` line with the password.
        var redis: String
    }

    var apps: [App]
    /// listener.yaml without its `tokens:` key.
    var listener: String
    /// The `tokens:` key of listener.yaml, plaintext or hashed as the operator wrote them.
    var tokens: String
    var password: String

    init(apps configs: [AppConfig], listener: ListenerConfig?, redis: ComposeRedis, password: String) throws {
        guard !password.contains(where: { $0.isNewline || $0 == "\"" }) else {
            throw CtlFailure.usage("redis.password: must not contain a newline or a double quote")
        }
        self.password = password
        apps = try configs.map { app in
            let text = try String(contentsOfFile: app.sourceFile, encoding: .utf8)
            let header = [
                "\(KubeCommand.marker) from \(app.sourceFile): run_dir is the pod's socket volume,",
                "# the uids the fleet's. The `redis:` line, with the password, is in the Secret and joined",
                "# to this file at pod start. Edit the original and generate again.",
            ]
            let joined = try ContainerConfig.app(app, text: text, redis: redis, password: password, header: header)
            var lines = joined.components(separatedBy: "\n")
            guard let index = lines.firstIndex(where: { $0.hasPrefix("redis: {") }) else {
                throw CtlFailure.runtime("\(app.sourceFile): the in-container config has no redis line")
            }
            let redisLine = lines.remove(at: index)
            return App(name: app.app, config: lines.joined(separator: "\n"), redis: redisLine + "\n")
        }
        let header = [
            "\(KubeCommand.marker)\(listener.map { " from \($0.sourceFile)" } ?? ""): in-container paths and binds,",
            "# supervision off (each worker is a container of the pod). The `tokens:` key is in the Secret",
            "# and joined to this file at pod start.",
        ]
        let full = try ContainerConfig.listener(listener, generator: "mimicctl kube", header: header)
        let lines = full.components(separatedBy: "\n")
        guard let index = lines.firstIndex(where: { $0.hasPrefix("tokens:") }) else {
            throw CtlFailure.runtime("the generated listener.yaml has no tokens key")
        }
        self.listener = lines[..<index].joined(separator: "\n") + "\n"
        tokens = lines[index...].joined(separator: "\n")
        // The split must be undone exactly by the init container's `cat`.
        guard self.listener + tokens == full else {
            throw CtlFailure.runtime("splitting listener.yaml into its ConfigMap and Secret failed")
        }
        for (app, config) in zip(apps, configs) where !password.isEmpty && app.config.contains(password) {
            throw CtlFailure.usage(
                "\(config.sourceFile): the Redis password appears outside the redis key (in a comment?); remove it, ConfigMaps are not secret"
            )
        }
    }

    /// Changes whenever any config or secret changes; the pod template carries it, so
    /// `kubectl apply` restarts the pod with the new configs (the init container reads them once).
    var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let parts = [listener, tokens, password] + apps.flatMap { [$0.name, $0.config, $0.redis] }
        for byte in parts.joined(separator: "\u{0}").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
