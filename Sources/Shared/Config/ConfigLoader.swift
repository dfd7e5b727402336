import Foundation

/// Strict loading of `listener.yaml` and `apps.d/<app>.yaml`: every problem of a file is reported,
/// each with `file:line:column: key.path: message`, and unknown keys are errors.
///
/// Relative paths in a file (an app's `run_dir`; the listener's `apps_dir`, `run_dir`, `journal_dir`
/// and a `supervise.worker` containing `/`; a hook's `argv[0]` containing `/`) are resolved against
/// the directory of that file and stored absolute, so a config means the same whatever the working
/// directory of the process reading it. The `text:` variants resolve against the directory of `file`.
public enum ConfigLoader {
    public static func loadApp(path: String) throws(ConfigErrors) -> AppConfig {
        try decodeApp(readFile(path), file: path).config
    }

    public static func loadApp(text: String, file: String) throws(ConfigErrors) -> AppConfig {
        try decodeApp(Array(text.utf8), file: file).config
    }

    public static func loadListener(path: String) throws(ConfigErrors) -> ListenerConfig {
        try decodeListener(readFile(path), file: path)
    }

    public static func loadListener(text: String, file: String) throws(ConfigErrors) -> ListenerConfig {
        try decodeListener(Array(text.utf8), file: file)
    }

    /// Every `<app>.yaml` in `dir` (hidden files skipped), sorted by file name. Problems of all files
    /// are collected, then the checks across files: the file name must be the app name, and no two
    /// apps may share a Redis database, since each worker owns its DB index outright.
    public static func loadAppsDirectory(_ dir: String) throws(ConfigErrors) -> [AppConfig] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dir)
        } catch {
            throw ConfigErrors([ConfigIssue(file: dir, line: 0, column: 0, path: "", message: "cannot read directory")])
        }
        var issues: [ConfigIssue] = []
        var loaded: [DecodedApp] = []
        for name in names.sorted() where name.hasSuffix(".yaml") && !name.hasPrefix(".") {
            let file = dir.hasSuffix("/") ? dir + name : "\(dir)/\(name)"
            do throws(ConfigErrors) {
                let decoded = try decodeApp(readFile(file), file: file)
                let expected = String(name.dropLast(".yaml".count))
                if decoded.config.app != expected {
                    issues.append(
                        ConfigIssue(
                            file: file, mark: decoded.appMark, path: "app",
                            message: "does not match the file name (expected \(expected))"))
                    continue
                }
                loaded.append(decoded)
            } catch {
                issues += error.issues
            }
        }
        issues += redisClashes(loaded)
        guard issues.isEmpty else { throw ConfigErrors(issues) }
        return loaded.map(\.config)
    }

    private static func redisClashes(_ apps: [DecodedApp]) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for (index, app) in apps.enumerated() {
            let redis = app.config.redis
            guard
                let owner = apps[..<index].first(where: {
                    $0.config.redis.server == redis.server && $0.config.redis.db == redis.db
                })
            else { continue }
            issues.append(
                ConfigIssue(
                    file: app.config.sourceFile, mark: app.redisDBMark, path: "redis.db",
                    message:
                        "Redis \(redis.server) db \(redis.db) is already used by app \(owner.config.app) (\(owner.config.sourceFile))"
                ))
        }
        return issues
    }

    static func decodeApp(_ bytes: [UInt8], file: String) throws(ConfigErrors) -> DecodedApp {
        let loaded = try YamlDocument.load(bytes, file: file)
        let decoder = ConfigDecoder(file: file)
        let decoded = decoder.appConfig(loaded.root ?? emptyDocument)
        let issues = inFileOrder(loaded.issues + decoder.issues)
        guard issues.isEmpty, let decoded else { throw ConfigErrors(issues) }
        return decoded
    }

    static func decodeListener(_ bytes: [UInt8], file: String) throws(ConfigErrors) -> ListenerConfig {
        let loaded = try YamlDocument.load(bytes, file: file)
        let decoder = ConfigDecoder(file: file)
        let config = decoder.listenerConfig(loaded.root ?? emptyDocument)
        let issues = inFileOrder(loaded.issues + decoder.issues)
        guard issues.isEmpty, let config else { throw ConfigErrors(issues) }
        return config
    }

    /// An empty file reads as an empty mapping: all defaults for a listener, "required key missing"
    /// for an app.
    private static let emptyDocument = YamlNode(.mapping([]), mark: YamlMark(line: 1, column: 1))

    private static func inFileOrder(_ issues: [ConfigIssue]) -> [ConfigIssue] {
        issues.enumerated()
            .sorted {
                ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset)
            }
            .map(\.element)
    }

    private static func readFile(_ path: String) throws(ConfigErrors) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file"
            throw ConfigErrors([ConfigIssue(file: path, line: 0, column: 0, path: "", message: reason)])
        }
        return Array(data)
    }
}
