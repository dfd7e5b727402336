import Foundation
import Shared

/// The values the compose templates see. Strings that land in YAML are pre-quoted as JSON strings
/// (valid YAML double-quoted scalars) and lists as JSON arrays (valid YAML flow sequences), so the
/// templates use `{{{raw}}}` and no value can break the file's structure.
struct ComposeContext {
    var image: String
    var name: String
    var stopGrace: String
    var listener: ListenerConfig?
    var network: ComposeNetwork = .bridge
    var redisImage: String = ComposeContext.defaultRedisImage
    /// The loopback port Redis listens on in the host's network; unused on a compose network.
    var redisPort: Int = ComposeRedis.service.port

    static let defaultRedisImage = "redis:7-bookworm"

    /// What the workers' in-container configs name as their Redis.
    var redis: ComposeRedis {
        network == .host ? ComposeRedis(host: "127.0.0.1", port: redisPort) : .service
    }

    private var runVolume: String { "\(name)-run" }

    private func quoted(_ text: String) -> String { ContainerConfig.quoted(text) }

    private func array(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }

    private var shared: [String: Any] {
        [
            "image": quoted(image), "stopGrace": quoted(stopGrace), "runDir": quoted(ContainerConfig.runDir),
            "runVolume": quoted(runVolume), "network": quoted(name), "hostNetwork": network == .host,
        ]
    }

    func fleet(_ apps: [AppConfig]) -> [String: Any] {
        let http = listener?.http ?? ListenerConfig().http
        let tcp = listener?.tcp ?? ListenerConfig().tcp
        let admin = listener?.admin ?? ListenerConfig().admin
        let databases = DeployInputs.redisDatabases(apps)
        // The password comes from the redis_conf secret. The healthcheck asks without it: an
        // answer (NOAUTH) is enough to know Redis is up, and keeps the password out of this file.
        var redisCommand = [
            "redis-server", "/run/secrets/redis_conf", "--appendonly", "yes", "--databases", "\(databases)",
        ]
        var redisCheck = ["CMD", "redis-cli", "ping"]
        if network == .host {
            // The host's loopback only: Redis has no other protection than its password.
            redisCommand += ["--bind", "127.0.0.1", "--port", "\(redisPort)"]
            redisCheck = ["CMD", "redis-cli", "-p", "\(redisPort)", "ping"]
        }
        var context = shared
        context["listenerSource"] = listener.map { quoted($0.sourceFile) } ?? false
        context["apps"] = apps.map { ["file": "\($0.app).compose.yml"] }
        context["redisImage"] = quoted(redisImage)
        context["redisPortPlain"] = "\(redisPort)"
        context["redisCommand"] = array(redisCommand)
        context["redisHealthcheck"] = array(redisCheck)
        context["listenerUser"] = quoted("\(ContainerConfig.listenerUID):\(ContainerConfig.fleetGID)")
        // On a compose network the listener.yaml bind address becomes the published address on
        // the Docker host; in the host's network the listener binds it itself.
        context["httpPublish"] = quoted("\(publishHost(http.host)):\(http.port):\(ContainerConfig.httpPort)")
        context["tcpPublish"] = quoted("\(publishHost(tcp.host)):\(tcp.port):\(ContainerConfig.tcpPort)")
        let adminURL =
            network == .host
            ? "http://\(publishHost(reachable(admin.host))):\(admin.port)"
            : "http://127.0.0.1:\(ContainerConfig.adminPort)"
        context["listenerHealthcheck"] = array(["CMD", "mimicctl", "status", "--admin", adminURL])
        context["journalDir"] = quoted(ContainerConfig.journalDir)
        context["journalVolume"] = quoted("\(name)-journal")
        context["redisVolume"] = quoted("\(name)-redis")
        return context
    }

    func app(_ app: AppConfig) -> [String: Any] {
        let target = "\(ContainerConfig.appsDir)/\(app.app).yaml"
        var context = shared
        context["app"] = app.app
        context["appQuoted"] = quoted(app.app)
        context["appSource"] = app.sourceFile
        context["file"] = "\(app.app).compose.yml"
        context["service"] = "worker-\(app.app)"
        context["command"] = array(["mimic-worker", "--config", target, "--run-dir", ContainerConfig.runDir])
        context["configSource"] = quoted("./apps.d/\(app.app).yaml")
        context["configTarget"] = quoted(target)
        context["redisDB"] = "\(app.redis.db)"
        context["redisDBQuoted"] = quoted("\(app.redis.db)")
        context["workerUser"] = quoted("\(ContainerConfig.workerUID(app)):\(ContainerConfig.fleetGID)")
        context["healthcheck"] = array(["CMD", "mimicctl", "ping", app.app, "--run-dir", ContainerConfig.runDir])
        return context
    }

    /// A listener bound to every interface is reached on loopback from its own machine.
    private func reachable(_ host: String) -> String {
        switch host {
        case "0.0.0.0": "127.0.0.1"
        case "::", "[::]": "::1"
        default: host
        }
    }

    /// `[::1]`-style hosts need brackets in a port mapping; 0.0.0.0 publishes on every interface.
    private func publishHost(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
