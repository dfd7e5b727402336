import ArgumentParser
import Foundation
import Mustache
import Shared

/// `mimicctl compose`: renders compose-templates/ into a deploy directory: the fleet file
/// (listener, Redis, volumes), one file per app's worker, and the in-container configs they mount.
struct ComposeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Generate deploy/fleet.compose.yml and deploy/<app>.compose.yml from compose-templates/.",
        discussion: """
            Also writes deploy/listener.yaml and deploy/apps.d/<app>.yaml: the configs as the containers \
            read them (redis host `redis` port 6379 with each app's db, sockets on /run/mimic, supervision off).
            With --network host (one machine): every service uses the host's network, Redis listens on \
            127.0.0.1:--redis-port, the listener on the http and tcp addresses of --listener, and the \
            sockets stay on the shared volume.
            Bring everything up:   docker compose -f deploy/fleet.compose.yml -f deploy/shop.compose.yml ... up -d
            One app's worker:      docker compose -f deploy/fleet.compose.yml -f deploy/shop.compose.yml restart worker-shop
            """)

    @Option(
        help: ArgumentHelp(
            "Directory of the <app>.yaml files (default: apps_dir of --listener, else ./apps.d).", valueName: "dir"))
    var apps: String?

    @Option(help: ArgumentHelp("Where to write the compose files.", valueName: "dir"))
    var out: String = "./deploy"

    @Option(
        help: ArgumentHelp("Directory of fleet.compose.yml.mustache and app.compose.yml.mustache.", valueName: "dir"))
    var templates: String = "./compose-templates"

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

    @Option(
        help: ArgumentHelp(
            "bridge: a compose network of the fleet's own, the listener's ports published; host: every service in the host's network (one machine).",
            valueName: "bridge|host"))
    var network: ComposeNetwork = .bridge

    @Option(
        name: .customLong("redis-port"),
        help: "With --network host: the 127.0.0.1 port Redis listens on (the workers' configs name it).")
    var redisPort: Int?

    @Option(help: "Prefix of the volume and network names, so several fleets can share one Docker engine.")
    var name: String = "mimic"

    @Option(name: .customLong("stop-grace"), help: "How long a stopping listener or worker gets after SIGTERM.")
    var stopGrace: String = "30s"

    func validate() throws {
        guard name.range(of: "^[a-z0-9][a-z0-9_.-]*$", options: .regularExpression) != nil else {
            throw ValidationError("--name \(name): expected lower-case letters, digits, '_', '.', '-'")
        }
        guard DurationText.parse(stopGrace) != nil else {
            throw ValidationError("--stop-grace \(stopGrace): expected a duration like 30s or 1m")
        }
        if let redisPort {
            guard network == .host else {
                throw ValidationError(
                    "--redis-port: only with --network host (on a compose network Redis is redis:6379)")
            }
            guard (1...65535).contains(redisPort) else {
                throw ValidationError("--redis-port \(redisPort): expected a port, 1 to 65535")
            }
        }
        guard !redisImage.isEmpty else { throw ValidationError("--redis-image: empty") }
    }

    func run() async throws {
        let library = try await loadTemplates()
        let listenerConfig = try listener.map(loadListener)
        let appsDir = apps ?? listenerConfig?.appsDir ?? "./apps.d"
        let appConfigs = try loadApps(appsDir)
        try checkSharedRedis(appConfigs, dir: appsDir)

        let fileManager = FileManager.default
        let appsOut = out + "/apps.d"
        do {
            try fileManager.createDirectory(atPath: appsOut, withIntermediateDirectories: true)
        } catch {
            throw CtlFailure.runtime("cannot create \(appsOut): \(error.localizedDescription)")
        }
        // The fleet's Redis always has a password: the operator's, or one made here once and kept
        // in deploy/redis.conf (mounted into Redis as a compose secret, never on a command line).
        let password = appConfigs.first?.redis.password ?? existingPassword() ?? Self.newPassword()
        let context = ComposeContext(
            image: image, name: name, stopGrace: stopGrace, listener: listenerConfig, network: network,
            redisImage: redisImage, redisPort: redisPort ?? ComposeRedis.service.port)
        var written: [String] = []
        try writeRedisConf(password: password, &written)
        for app in appConfigs {
            let text = try String(contentsOfFile: app.sourceFile, encoding: .utf8)
            try write(
                try ContainerConfig.app(app, text: text, redis: context.redis, password: password),
                to: "\(appsOut)/\(app.app).yaml",
                &written)
            try write(
                try render(library, "app.compose.yml", context.app(app)), to: "\(out)/\(app.app).compose.yml", &written)
        }
        try write(
            try ContainerConfig.listener(listenerConfig, network: network), to: "\(out)/listener.yaml", &written)
        try write(
            try render(library, "fleet.compose.yml", context.fleet(appConfigs)), to: "\(out)/fleet.compose.yml",
            &written)
        removeLeftovers(keeping: Set(written))

        for app in appConfigs where app.hosts.contains(where: { $0.driver == .command }) {
            warn(
                "app \(app.app): command-driver hooks run inside the worker container; relative hook paths resolve against \(ContainerConfig.appsDir), so add the hooks to the image or mount them"
            )
        }
        if listenerConfig == nil {
            warn(
                "no --listener: \(out)/listener.yaml has no tokens, so the listener will refuse every sender; pass --listener listener.yaml"
            )
        }
        print(
            "wrote \(written.count) files to \(out): fleet.compose.yml, listener.yaml, redis.conf, "
                + "\(appConfigs.count) app\(appConfigs.count == 1 ? "" : "s") (\(appConfigs.map(\.app).joined(separator: ", ")))"
        )
        print(
            "up: docker compose -f \(out)/fleet.compose.yml"
                + appConfigs.map { " -f \(out)/\($0.app).compose.yml" }.joined() + " up -d")
    }

    private func loadApps(_ dir: String) throws -> [AppConfig] {
        let configs: [AppConfig]
        do throws(ConfigErrors) {
            configs = try ConfigLoader.loadAppsDirectory(dir)
        } catch {
            throw CtlFailure.usage(error.issues.map(\.description).joined(separator: "\n"))
        }
        guard !configs.isEmpty else { throw CtlFailure.usage("\(dir): no <app>.yaml files; nothing to deploy") }
        return configs
    }

    private func loadListener(_ path: String) throws -> ListenerConfig {
        do throws(ConfigErrors) {
            return try ConfigLoader.loadListener(path: path)
        } catch {
            throw CtlFailure.usage(error.issues.map(\.description).joined(separator: "\n"))
        }
    }

    private func loadTemplates() async throws -> MustacheLibrary {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: templates, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CtlFailure.usage(
                "--templates \(templates): no such directory (the repository's compose-templates/, or pass --templates)"
            )
        }
        let library: MustacheLibrary
        do {
            library = try await MustacheLibrary(directory: templates)
        } catch let error as MustacheLibrary.ParserError {
            throw CtlFailure.usage(
                "\(templates)/\(error.filename):\(error.context.lineNumber):\(error.context.columnNumber): \(error.error)"
            )
        }
        for name in ["fleet.compose.yml", "app.compose.yml"] where library.getTemplate(named: name) == nil {
            throw CtlFailure.usage("\(templates)/\(name).mustache: missing")
        }
        return library
    }

    /// All apps share the fleet's one Redis, so their DB indexes must differ (the apps dir check
    /// only compares apps on the same host and port) and they must agree on the password.
    private var redisConfPath: String { out + "/redis.conf" }

    /// The password of an earlier generation, so regenerating does not change it under running workers.
    private func existingPassword() -> String? {
        guard let text = try? String(contentsOfFile: redisConfPath, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("requirepass ") {
            let value = line.dropFirst("requirepass ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            if value.count >= 16, value.allSatisfy(\.isHexDigit) { return value }
        }
        return nil
    }

    static func newPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Redis reads its password from this file (a compose secret). deploy/ holds the tokens and
    /// this password, so it is made private to the operator.
    private func writeRedisConf(password: String, _ written: inout [String]) throws {
        guard !password.contains(where: { $0.isNewline || $0 == "\"" }) else {
            throw CtlFailure.usage("redis.password: must not contain a newline or a double quote")
        }
        try write(
            "# Generated by `mimicctl compose`: the fleet's Redis password (requirepass).\nrequirepass \"\(password)\"\n",
            to: redisConfPath, &written)
        chmod(out, 0o700)
    }

    private func checkSharedRedis(_ configs: [AppConfig], dir: String) throws {
        var owners: [Int: String] = [:]
        for app in configs {
            if let other = owners[app.redis.db] {
                throw CtlFailure.usage(
                    "\(app.sourceFile): redis.db \(app.redis.db) is also app \(other)'s; the fleet's one Redis needs a distinct db per app"
                )
            }
            owners[app.redis.db] = app.app
        }
        let passwords = Set(configs.map { $0.redis.password ?? "" })
        if passwords.count > 1 {
            throw CtlFailure.usage(
                "\(dir): apps differ in redis.password; the fleet's one Redis has one password (or none) for all")
        }
    }

    private func render(_ library: MustacheLibrary, _ template: String, _ context: [String: Any]) throws -> String {
        guard let text = library.render(context, withTemplate: template) else {
            throw CtlFailure.usage("\(templates)/\(template).mustache: missing")
        }
        return text
    }

    private func write(_ text: String, to path: String, _ written: inout [String]) throws {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CtlFailure.runtime("cannot write \(path): \(error.localizedDescription)")
        }
        written.append(path)
    }

    /// Files of apps removed from the apps dir since the last run would otherwise be deployed by
    /// a `-f deploy/*.compose.yml` glob; only files this command generated are removed.
    private func removeLeftovers(keeping written: Set<String>) {
        let fileManager = FileManager.default
        for dir in [out, out + "/apps.d"] {
            for name in (try? fileManager.contentsOfDirectory(atPath: dir)) ?? [] {
                let path = "\(dir)/\(name)"
                guard !written.contains(path), name.hasSuffix(".compose.yml") || name.hasSuffix(".yaml"),
                    let head = try? String(contentsOfFile: path, encoding: .utf8).prefix(40),
                    head.hasPrefix("# Generated by `mimicctl compose`")
                else { continue }
                try? fileManager.removeItem(atPath: path)
            }
        }
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data("mimicctl: warning: \(message)\n".utf8))
    }
}

extension ComposeNetwork: ExpressibleByArgument {}
