import ArgumentParser
import Foundation
import Shared

/// `--config listener.yaml`: where commands find apps_dir, run_dir, the listener's HTTP address and
/// token names. Only read when a command needs something the flags did not give, so
/// `mimicctl status --listener URL` works on a machine without the fleet's files.
struct ConfigOption: ParsableArguments {
    static let defaultPath = "./listener.yaml"

    @Option(name: .long, help: ArgumentHelp("The listener config (default ./listener.yaml).", valueName: "file"))
    var config: String?

    /// The listener config, or a usage failure saying which flag would have made it unnecessary.
    func load(neededFor purpose: String) throws -> ListenerConfig {
        let path = config ?? Self.defaultPath
        guard FileManager.default.fileExists(atPath: path) else {
            if config != nil { throw CtlFailure.usage("--config \(path): no such file") }
            throw CtlFailure.usage(
                "no \(path) to find \(purpose): run from the fleet's directory or pass --config FILE")
        }
        do throws(ConfigErrors) {
            return try ConfigLoader.loadListener(path: path)
        } catch {
            let more = error.issues.count > 1 ? " (and \(error.issues.count - 1) more; run mimicctl check-config)" : ""
            throw CtlFailure.usage("\(error.issues.first?.description ?? path)\(more)")
        }
    }
}

/// How to reach the listener's HTTP API and which token to present.
struct ListenerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The listener's ingress URL, for send (default: http host and port of --config).", valueName: "url"))
    var listener: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The listener's admin door, for status and worker control (default: admin host and port of --config).",
            valueName: "url"))
    var admin: String?

    @Option(name: .long, help: ArgumentHelp("Bearer token (default: $MIMIC_TOKEN).", valueName: "token"))
    var token: String?

    @Option(
        name: .customLong("token-name"),
        help: ArgumentHelp("Use the token of this name from --config.", valueName: "name"))
    var tokenName: String?

    /// The ingress door (`POST /v1/events`).
    func ingressURL(_ config: ConfigOption) throws -> HTTPEndpoint {
        if let listener { return try HTTPEndpoint(url: listener, flag: "--listener") }
        let http = try config.load(neededFor: "the listener's HTTP address (or pass --listener URL)").http
        return Self.endpoint(http)
    }

    /// The admin door: status, worker control, the page (DESIGN section 4).
    func adminURL(_ config: ConfigOption) throws -> HTTPEndpoint {
        if let admin { return try HTTPEndpoint(url: admin, flag: "--admin") }
        let door = try config.load(neededFor: "the listener's admin address (or pass --admin URL)").admin
        return Self.endpoint(door)
    }

    private static func endpoint(_ bind: ListenerConfig.Bind) -> HTTPEndpoint {
        // A listener bound to every interface is reached on loopback from its own machine.
        let host = ["0.0.0.0", "::", "[::]"].contains(bind.host) ? "127.0.0.1" : bind.host
        return HTTPEndpoint(host: host, port: bind.port, tls: bind.tls != nil)
    }

    /// A token when one was given (flags or $MIMIC_TOKEN): reads need one only away from loopback.
    /// Without one, the local operator's own listener.yaml may give one (`OperatorToken`), so a
    /// door away from loopback is read without flags on the listener's machine.
    func optionalToken(_ config: ConfigOption, app: String? = nil) throws -> String? {
        if token == nil, tokenName == nil, ProcessInfo.processInfo.environment["MIMIC_TOKEN"]?.isEmpty ?? true {
            return OperatorToken.find(config, app: app, scopes: [ListenerConfig.readScope, "admin"])?.token
        }
        return try resolveToken(config, for: "reading")
    }

    /// For admin-door actions: the flags and $MIMIC_TOKEN as `resolveToken`, then the plain admin
    /// token of the operator's listener.yaml (issue 18 item 4), so `mimicctl worker restart shop`
    /// on the listener's machine needs no flag.
    func resolveAdminToken(_ config: ConfigOption, app: String, for purpose: String) throws -> String {
        if token != nil || tokenName != nil || !(ProcessInfo.processInfo.environment["MIMIC_TOKEN"]?.isEmpty ?? true) {
            return try resolveToken(config, for: purpose)
        }
        switch OperatorToken.lookUp(config, app: app, scopes: ["admin"]) {
        case .found(let token):
            return token.token
        case .digestOnly(let names, let path):
            throw CtlFailure.usage(
                "\(purpose) needs a token: \(path) holds the admin token\(names.count == 1 ? "" : "s") \(names.joined(separator: ", ")) only as token_sha256; pass --token or set MIMIC_TOKEN"
            )
        case .none(let path):
            let whereFrom = path.map { ", and \($0) has no admin token for app \(app)" } ?? ""
            throw CtlFailure.usage(
                "\(purpose) needs a token: pass --token, set MIMIC_TOKEN, or --token-name NAME from listener.yaml\(whereFrom)"
            )
        }
    }

    /// The flags first (--token, then --token-name looked up in the listener config), then
    /// $MIMIC_TOKEN, so an explicit choice on the command line beats the environment.
    func resolveToken(_ config: ConfigOption, for purpose: String) throws -> String {
        if let token { return token }
        if let tokenName {
            let tokens = try config.load(neededFor: "token '\(tokenName)'").tokens
            guard let match = tokens.first(where: { $0.name == tokenName }) else {
                let names = tokens.map(\.name).joined(separator: ", ")
                throw CtlFailure.usage(
                    "--token-name \(tokenName): no such token in \(config.config ?? ConfigOption.defaultPath) (have: \(names.isEmpty ? "none" : names))"
                )
            }
            guard match.tokenSHA256 == nil else {
                throw CtlFailure.usage(
                    "--token-name \(tokenName): listener.yaml holds only its sha256; pass --token or set MIMIC_TOKEN")
            }
            return match.token
        }
        if let token = ProcessInfo.processInfo.environment["MIMIC_TOKEN"], !token.isEmpty { return token }
        throw CtlFailure.usage(
            "\(purpose) needs a token: pass --token, set MIMIC_TOKEN, or --token-name NAME from listener.yaml")
    }
}

/// Where the app sockets are, for commands that talk to workers directly.
struct RunDirOption: ParsableArguments {
    @Option(
        name: .customLong("run-dir"),
        help: ArgumentHelp("Directory of the <app>.sock files (default: run_dir of --config).", valueName: "dir"))
    var runDir: String?

    func resolveRunDir(_ config: ConfigOption) throws -> String {
        if let runDir { return URL(fileURLWithPath: runDir).standardizedFileURL.path }
        return try config.load(neededFor: "run_dir (or pass --run-dir)").runDir
    }
}

/// Where the app configs are, for commands that read an app's Redis directly.
struct AppsDirOption: ParsableArguments {
    @Option(
        name: .customLong("apps-dir"),
        help: ArgumentHelp("Directory of the <app>.yaml files (default: apps_dir of --config).", valueName: "dir"))
    var appsDir: String?

    /// The app's config, loaded strictly: its Redis settings are how `events` and `executors` find
    /// the app's data.
    func loadApp(_ app: String, _ config: ConfigOption) throws -> AppConfig {
        let dir = try appsDir ?? config.load(neededFor: "apps_dir (or pass --apps-dir)").appsDir
        let path = URL(fileURLWithPath: dir).appendingPathComponent("\(app).yaml").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw CtlFailure.usage("app \(app): no \(path); check the app name or pass --apps-dir")
        }
        do throws(ConfigErrors) {
            return try ConfigLoader.loadApp(path: path)
        } catch {
            let more = error.issues.count > 1 ? " (and \(error.issues.count - 1) more; run mimicctl check-config)" : ""
            throw CtlFailure.usage("\(error.issues.first?.description ?? path)\(more)")
        }
    }
}

/// `--json` for scripts; tables otherwise.
struct FormatOption: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}
