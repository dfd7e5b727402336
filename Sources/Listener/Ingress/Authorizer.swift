import Crypto
import Foundation
import Shared

/// Bearer-token decisions (DESIGN section 4): who is calling, and may they send this.
struct Authorizer: Sendable {
    enum Identity: Sendable, Equatable {
        /// No token presented: 401.
        case missing
        /// A token that matches none configured: 401.
        case unknown
        /// The index of the matching token in the configuration.
        case known(Int)
    }

    enum Decision: Sendable, Equatable {
        case allowed
        /// 403, with the reason the sender sees.
        case forbidden(String)
    }

    /// A configured secret as it is compared: the plaintext bytes, or the SHA-256 digest of them.
    private enum Secret: Sendable {
        case plain([UInt8])
        case sha256([UInt8])
    }

    private let tokens: [ListenerConfig.Token]
    private let secrets: [Secret]
    private let anyHashed: Bool

    init(tokens: [ListenerConfig.Token]) {
        self.tokens = tokens
        self.secrets = tokens.map { token in token.tokenSHA256.map(Secret.sha256) ?? .plain(Array(token.token.utf8)) }
        self.anyHashed = tokens.contains { $0.tokenSHA256 != nil }
    }

    /// Compares the presented token with every configured one, in time independent of where they
    /// differ and of which entry matches (every entry is compared, no early exit).
    func identify(_ presented: String?) -> Identity {
        guard let presented, !presented.isEmpty else { return .missing }
        let candidate = Array(presented.utf8)
        let digest = anyHashed ? Array(SHA256.hash(data: candidate)) : []
        var match = -1
        for (index, secret) in secrets.enumerated() {
            let equal: Bool
            switch secret {
            case .plain(let bytes): equal = Self.constantTimeEqual(candidate, bytes)
            case .sha256(let bytes): equal = Self.constantTimeEqual(digest, bytes)
            }
            if equal { match = index }
        }
        return match >= 0 ? .known(match) : .unknown
    }

    /// Extracts the token of an `Authorization: Bearer <token>` header value.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// The token of an admin-door request: `Bearer <token>`, or HTTP Basic with the token as the
    /// password (any user name), so a browser can open the page behind a non-loopback door.
    static func adminDoorToken(_ header: String?) -> String? {
        if let bearer = bearerToken(header) { return bearer }
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return String(text[text.index(after: colon)...])
    }

    func tokenName(_ index: Int) -> String { tokens[index].name }

    /// Reads on the admin door (status, page, metrics) away from loopback: a token with the `read`
    /// scope or the `admin` source, for `app` or, when `app` is nil (fleet-wide reads), for all apps.
    func decideRead(token index: Int, app: String?) -> Decision {
        let token = tokens[index]
        let scopes = token.sources
        guard
            scopes.contains("*") || scopes.contains(ListenerConfig.readScope) || scopes.contains(Source.admin.rawValue)
        else {
            return .forbidden("token '\(token.name)' has neither the read scope nor the admin source")
        }
        if token.apps.contains("*") { return .allowed }
        guard let app else {
            return .forbidden(
                "token '\(token.name)' may read only apps \(token.apps.joined(separator: ", ")); ask for /v1/apps/<app>"
            )
        }
        return token.apps.contains(app) ? .allowed : .forbidden("token '\(token.name)' may not read app '\(app)'")
    }

    func decideSource(token index: Int, source: String) -> Decision {
        let token = tokens[index]
        guard token.sources.contains("*") || token.sources.contains(source) else {
            return .forbidden("token '\(token.name)' may not send as source '\(source)'")
        }
        return .allowed
    }

    func decide(token index: Int, source: String, app: String) -> Decision {
        let token = tokens[index]
        if case .forbidden(let reason) = decideSource(token: index, source: source) { return .forbidden(reason) }
        guard token.apps.contains("*") || token.apps.contains(app) else {
            return .forbidden("token '\(token.name)' may not send to app '\(app)'")
        }
        return .allowed
    }

    /// True when the token may act as an operator (the admin source) on `app`.
    func isAdmin(token index: Int, app: String) -> Bool {
        decide(token: index, source: Source.admin.rawValue, app: app) == .allowed
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt64(lhs.count ^ rhs.count)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= UInt64(left ^ right)
        }
        return difference == 0
    }
}
