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

    private let tokens: [ListenerConfig.Token]
    private let secrets: [[UInt8]]

    init(tokens: [ListenerConfig.Token]) {
        self.tokens = tokens
        self.secrets = tokens.map { Array($0.token.utf8) }
    }

    /// Compares the presented token with every configured one, in time independent of where they differ.
    func identify(_ presented: String?) -> Identity {
        guard let presented, !presented.isEmpty else { return .missing }
        let candidate = Array(presented.utf8)
        var match = -1
        for (index, secret) in secrets.enumerated() where Self.constantTimeEqual(candidate, secret) {
            match = index
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

    func tokenName(_ index: Int) -> String { tokens[index].name }

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

import Foundation
