import Foundation
import Shared

/// The operator's files a deploy generator starts from, loaded with the strict loader so a bad key
/// stops generation with the file, line and key path instead of producing manifests that fail later.
enum DeployInputs {
    static func apps(_ dir: String) throws -> [AppConfig] {
        let configs: [AppConfig]
        do throws(ConfigErrors) {
            configs = try ConfigLoader.loadAppsDirectory(dir)
        } catch {
            throw CtlFailure.usage(error.issues.map(\.description).joined(separator: "\n"))
        }
        guard !configs.isEmpty else { throw CtlFailure.usage("\(dir): no <app>.yaml files; nothing to deploy") }
        return configs
    }

    static func listener(_ path: String) throws -> ListenerConfig {
        do throws(ConfigErrors) {
            return try ConfigLoader.loadListener(path: path)
        } catch {
            throw CtlFailure.usage(error.issues.map(\.description).joined(separator: "\n"))
        }
    }

    /// All apps share the fleet's one Redis, so their DB indexes must differ (the apps dir check
    /// only compares apps on the same host and port) and they must agree on the password. The db
    /// also picks each worker's uid, which must be unique.
    static func checkSharedRedis(_ configs: [AppConfig], dir: String) throws {
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

    /// A fresh password for the fleet's Redis when the apps give none: 24 random bytes in hex.
    static func newPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Redis needs at least 16 databases, and more when an app uses a higher index.
    static func redisDatabases(_ apps: [AppConfig]) -> Int {
        max(16, (apps.map(\.redis.db).max() ?? 0) + 1)
    }
}
