// TEMPORARY: stands in for Shared.ConfigLoader until the `config` branch is merged; delete this file then.
import Shared

enum ConfigLoader {
    struct NotMerged: Error, CustomStringConvertible {
        var description: String { "config loader not merged yet (branch config)" }
    }

    static func loadListener(path: String) throws -> ListenerConfig { throw NotMerged() }
    static func loadAppsDirectory(_ dir: String) throws -> [AppConfig] { throw NotMerged() }
}
