import Foundation

/// The online set as the brackets read it: published on `mimic:{app}:online` at every change and
/// kept in `mimic:{app}:online:view` for a bracket that starts late (DESIGN section 6).
public struct OnlineView: Sendable, Equatable, Codable {
    public struct Member: Sendable, Equatable, Codable {
        public var id: String
        public var endpoint: String
        public var variant: String
        /// The executor's confidence, for the right bracket's weighted vote.
        public var weight: Double

        public init(id: String, endpoint: String, variant: String, weight: Double) {
            self.id = id
            self.endpoint = endpoint
            self.variant = variant
            self.weight = weight
        }
    }

    public var app: String
    /// Only grows.
    public var version: Int
    public var online: [Member]

    public init(app: String, version: Int, online: [Member]) {
        self.app = app
        self.version = version
        self.online = online
    }

    /// The JSON text published and stored.
    public var text: String { BracketJSON.text(self) }
}

/// One change of the black or white list, published on `mimic:{app}:lists` for the left bracket.
public struct ListPublication: Sendable, Equatable, Codable {
    public var list: String
    public var op: String
    public var url: String
    /// Unix ms when an added entry expires; absent for permanent entries and removals.
    public var expiresAt: Int64?
    public var reason: String
    public var cause: String

    public init(list: String, op: String, url: String, expiresAt: Int64?, reason: String, cause: String) {
        self.list = list
        self.op = op
        self.url = url
        self.expiresAt = expiresAt
        self.reason = reason
        self.cause = cause
    }

    enum CodingKeys: String, CodingKey {
        case list, op, url, reason, cause
        case expiresAt = "expires_at"
    }

    /// The JSON text published.
    public var text: String { BracketJSON.text(self) }
}

/// Sorted keys and plain slashes: URLs stay readable for brackets and operators alike.
enum BracketJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func text(_ value: some Encodable) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }
}
