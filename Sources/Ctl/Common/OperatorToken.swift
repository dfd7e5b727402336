import Foundation
import Shared

/// The token the local operator's listener.yaml gives mimicctl when no flag or $MIMIC_TOKEN does
/// (issue 18 item 4): whoever can read the listener's config can already act as its admin, so
/// asking them to paste the token back is ceremony. Only a plain `token:` can be used; a
/// `token_sha256:` entry names the token without handing it out.
enum OperatorToken {
    enum LookUp {
        case found(ListenerConfig.Token)
        /// Tokens that would do exist only as digests (their names, the config path).
        case digestOnly([String], String)
        /// Nothing usable; the config path when one was read.
        case none(String?)
    }

    /// A token whose sources include one of `scopes` (or `*`) and whose apps include `app` (or `*`;
    /// any app when nil). Never fails: an unreadable or invalid config gives no token.
    static func lookUp(_ config: ConfigOption, app: String?, scopes: [String]) -> LookUp {
        let path = config.config ?? ConfigOption.defaultPath
        guard FileManager.default.isReadableFile(atPath: path),
            let tokens = try? config.load(neededFor: "an admin token").tokens
        else { return .none(nil) }
        let fitting = tokens.filter { token in
            token.sources.contains { $0 == "*" || scopes.contains($0) }
                && (app.map { app in token.apps.contains { $0 == "*" || $0 == app } } ?? true)
        }
        // An admin token before a read-only one, in the order listener.yaml lists them.
        let ordered =
            fitting.filter { $0.sources.contains { $0 == "*" || $0 == "admin" } }
            + fitting.filter { !$0.sources.contains { $0 == "*" || $0 == "admin" } }
        if let usable = ordered.first(where: { $0.tokenSHA256 == nil && !$0.token.isEmpty }) { return .found(usable) }
        if !ordered.isEmpty { return .digestOnly(ordered.map(\.name), path) }
        return .none(path)
    }

    static func find(_ config: ConfigOption, app: String?, scopes: [String]) -> ListenerConfig.Token? {
        if case .found(let token) = lookUp(config, app: app, scopes: scopes) { return token }
        return nil
    }
}
