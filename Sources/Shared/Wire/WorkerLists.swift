/// `{"op":"lists"}`: the app's black- and whitelist entries with their expiries, for the page
/// (issue 18 item 3). A list may hold 10,000 entries and the page asks every second, so the
/// answer carries the `shownPerList` soonest to expire of each list (permanent ones last) and the
/// full count of each.
public struct WorkerLists: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        /// `blacklist` or `whitelist`.
        public var list: String
        public var url: String
        /// Unix ms; absent for a permanent entry.
        public var expiresAt: Int64?

        public init(list: String, url: String, expiresAt: Int64?) {
            self.list = list
            self.url = url
            self.expiresAt = expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case list, url
            case expiresAt = "expires_at"
        }
    }

    public static let shownPerList = 50

    public var app: String
    public var entries: [Entry]
    /// Entries per list, all of them.
    public var totals: [String: Int]

    public init(app: String, entries: [Entry], totals: [String: Int]) {
        self.app = app
        self.entries = entries
        self.totals = totals
    }
}
