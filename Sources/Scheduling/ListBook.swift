import Foundation
import Shared

/// The black and white lists as the scheduler keeps them: URL pattern to expiry (unix ms, nil for
/// permanent). Mirrored in `mimic:{app}:list:{name}` (members) and `mimic:{app}:list:{name}:expiry`
/// (sorted set, score = expiry) so a restarted worker still expires what an earlier one added.
package struct ListBook: Sendable, Equatable {
    package private(set) var entries: [ListChange.List: [String: Int64?]] = [:]

    package init(entries: [ListChange.List: [String: Int64?]] = [:]) {
        self.entries = entries
    }

    /// Entries one list keeps at most: each is stored, published and matched by the left bracket
    /// on every request. List messages that would add more are refused with a note.
    package static let maxEntriesPerList = 10_000

    func count(_ list: ListChange.List) -> Int { entries[list]?.count ?? 0 }

    func contains(_ list: ListChange.List, _ url: String) -> Bool {
        entries[list]?[url] != nil
    }

    /// True when a pattern of `list` matches `url` (`*` matches any run of characters, as the
    /// left bracket reads the patterns).
    func matches(_ list: ListChange.List, _ url: String) -> Bool {
        entries[list]?.keys.contains { ListBook.pattern($0, matches: url) } ?? false
    }

    /// Applies a change; nil when it changes nothing (removing an absent entry, or adding a
    /// permanent one again), so only real changes are stored and published.
    mutating func apply(
        _ list: ListChange.List, _ op: ListChange.Op, url: String, expiresAt: Int64?,
        reason: String, cause: Cause
    ) -> ListUpdate? {
        var book = entries[list, default: [:]]
        switch op {
        case .add:
            if let current = book[url], current == expiresAt { return nil }
            // A permanent entry is not shortened by a later add with a TTL.
            if let current = book[url], current == nil, expiresAt != nil { return nil }
            book[url] = .some(expiresAt)
        case .remove:
            guard book[url] != nil else { return nil }
            book[url] = nil
        }
        entries[list] = book
        return ListUpdate(list: list, op: op, url: url, expiresAt: expiresAt, reason: reason, cause: cause.text)
    }

    /// Entries whose expiry has passed, oldest first.
    func expired(now: Int64) -> [(list: ListChange.List, url: String)] {
        var found: [(ListChange.List, String, Int64)] = []
        for (list, book) in entries {
            for (url, expiry) in book {
                if let expiry, expiry <= now { found.append((list, url, expiry)) }
            }
        }
        return found.sorted { ($0.2, $0.0.rawValue, $0.1) < ($1.2, $1.0.rawValue, $1.1) }.map { ($0.0, $0.1) }
    }

    static func pattern(_ pattern: String, matches url: String) -> Bool {
        guard pattern.contains("*") else { return pattern == url }
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
        var rest = url[...]
        for (index, part) in parts.enumerated() {
            if index == 0 {
                guard rest.hasPrefix(part) else { return false }
                rest = rest.dropFirst(part.count)
            } else if index == parts.count - 1 {
                return part.isEmpty || rest.hasSuffix(part)
            } else if let found = rest.range(of: part) {
                rest = rest[found.upperBound...]
            } else {
                return false
            }
        }
        return rest.isEmpty
    }
}

/// One stored change of a list, with why it happened: the store writes it, publishes it on
/// `mimic:{app}:lists` and records it in the events stream.
package struct ListUpdate: Sendable, Equatable {
    package var list: ListChange.List
    package var op: ListChange.Op
    package var url: String
    /// Unix ms when an added entry expires; nil for permanent (and for removals).
    package var expiresAt: Int64?
    /// `waf`/`admin` request, suspected by negative feedback, expired, or configured.
    package var reason: String
    package var cause: String
}
