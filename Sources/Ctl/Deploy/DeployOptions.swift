import ArgumentParser
import Shared

/// The options `mimicctl compose` and `mimicctl kube` share: which fleet to deploy, which images
/// run it, and how long its processes get to stop. Each command keeps the options whose meaning
/// differs between Docker and Kubernetes (where to write, the names, the network).
struct DeployOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Directory of the <app>.yaml files (default: apps_dir of --listener, else ./apps.d).", valueName: "dir"))
    var apps: String?

    @Option(
        help: ArgumentHelp(
            "listener.yaml whose tokens, limits and published address the fleet uses.", valueName: "file"))
    var listener: String?

    @Option(help: "The image built from the Dockerfile (docker build -t IMAGE .) or by scripts/local-image.sh.")
    var image: String = "mimic-scheduler:latest"

    @Option(
        name: .customLong("redis-image"),
        help: "The Redis image; it must run `redis-server` and have `redis-cli` (scripts/local-image.sh makes one).")
    var redisImage: String = ComposeContext.defaultRedisImage

    @Option(name: .customLong("stop-grace"), help: "How long a stopping listener or worker gets after SIGTERM.")
    var stopGrace: String = "30s"

    /// The operator's fleet: its listener config when given, and its apps, which must be able
    /// to share one Redis.
    struct Fleet {
        var listener: ListenerConfig?
        var appsDir: String
        var apps: [AppConfig]

        /// What the generated files cannot do for the operator: hooks the image must hold, and
        /// a listener without tokens. `tokensFile` is where the tokens would have gone.
        func warnAboutGaps(tokensFile: String, hooks: String) {
            for app in apps where app.hosts.contains(where: { $0.driver == .command }) {
                GeneratedFiles.warn(
                    "app \(app.app): command-driver hooks run inside the worker container; relative hook paths resolve against \(ContainerConfig.appsDir), so \(hooks)"
                )
            }
            if listener == nil {
                GeneratedFiles.warn(
                    "no --listener: \(tokensFile) has no tokens, so the listener will refuse every sender; pass --listener listener.yaml"
                )
            }
        }
    }

    func validate() throws {
        guard let grace = DurationText.parse(stopGrace), grace >= .seconds(1) else {
            throw ValidationError("--stop-grace \(stopGrace): expected a duration like 30s or 1m")
        }
        guard !image.isEmpty else { throw ValidationError("--image: empty") }
        guard !redisImage.isEmpty else { throw ValidationError("--redis-image: empty") }
    }

    func load() throws -> Fleet {
        let listenerConfig = try listener.map(DeployInputs.listener)
        let appsDir = apps ?? listenerConfig?.appsDir ?? "./apps.d"
        let appConfigs = try DeployInputs.apps(appsDir)
        try DeployInputs.checkSharedRedis(appConfigs, dir: appsDir)
        return Fleet(listener: listenerConfig, appsDir: appsDir, apps: appConfigs)
    }

    var stopGraceSeconds: Int { Int(DurationText.parse(stopGrace)?.components.seconds ?? 30) }
}
