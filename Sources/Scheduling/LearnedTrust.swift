import Foundation

/// What the self-learning negative feedback (issue 16 item 3) has learned from the arbitration
/// log: per URL pattern, how often each variant answered with the majority there and how often it
/// dissented, as counts that fade with `learning.half_life`. The fixed rules forget everything
/// after `abnormal.window`; an attacker who paces requests under the threshold (the slow drip) is
/// only visible over a longer horizon, and only per URL: a build that is attacked through one URL
/// dissents there again and again while it agrees everywhere else.
///
/// From these counts: the trust of a variant on a pattern (a beta estimate, (agreements + 1) /
/// (agreements + dissents + 2), so one dissent on a pattern never seen before is weak evidence),
/// the trust of a variant (its lowest trust on a pattern it is distrusted on), and the reputation
/// of a pattern (its consistent arbitrations against every dissent there). Part of the policy
/// memory: committed with the effects and loaded at start (DESIGN section 10).
package struct LearnedTrust: Sendable, Equatable, Codable {
    /// Faded counts of one variant on one pattern.
    struct Evidence: Sendable, Equatable, Codable {
        var agreements: Double = 0
        var dissents: Double = 0

        var trust: Double { (agreements + 1) / (agreements + dissents + 2) }

        func faded(by factor: Double) -> Evidence {
            Evidence(agreements: agreements * factor, dissents: dissents * factor)
        }
    }

    /// The counts of one URL pattern, as of `seen` (unix ms of the last arbitration that changed
    /// them); they are faded to the time of each read or update.
    struct PatternRecord: Sendable, Equatable, Codable {
        var seen: Int64
        /// Arbitrations on the pattern in which nobody dissented.
        var consistent: Double = 0
        var variants: [String: Evidence] = [:]
    }

    /// Only patterns on which some executor dissented at least once: agreements alone teach
    /// nothing, and keeping them would rewrite the memory on every arbitration.
    var patterns: [String: PatternRecord] = [:]

    init() {}

    /// Patterns with a `*` in their path are learned, but never blacklisted: `*` is the lists'
    /// wildcard, and a URL is attacker-chosen text.
    static let maxPatternLength = 512

    /// The pattern a URL is learned under: its path, with `?*` when it had a query (an exploit's
    /// parameters vary; the handler does not), at most `maxPatternLength` characters. Nil for an
    /// empty URL.
    static func pattern(of url: String) -> String? {
        guard !url.isEmpty else { return nil }
        if let pattern = asciiPattern(of: url) { return pattern }
        let path = url.prefix { $0 != "?" && $0 != "#" }
        let hadQuery = url.dropFirst(path.count).first == "?"
        let kept = path.count > maxPatternLength ? String(path.prefix(maxPatternLength)) + "…" : String(path)
        return hadQuery ? kept + "?*" : kept
    }

    /// `pattern(of:)` over bytes, for the URL of nearly every arbitration: in ASCII a `?` or `#`
    /// byte is one of those characters (no ASCII mark combines with them), and a path no longer
    /// than `maxPatternLength` bytes is kept whole. Nil (the character walk decides) otherwise;
    /// that walk was most of the learning rule's cost per arbitration.
    private static func asciiPattern(of url: String) -> String? {
        var url = url
        return url.withUTF8 { bytes -> String? in
            var cut = bytes.count
            for (index, byte) in bytes.enumerated() {
                guard byte < 0x80 else { return nil }
                if cut == bytes.count, byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { cut = index }
            }
            guard cut <= maxPatternLength else { return nil }
            let path = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<cut]), as: UTF8.self)
            return cut < bytes.count && bytes[cut] == UInt8(ascii: "?") ? path + "?*" : path
        }
    }

    /// Whether the pattern may go on the blacklist as a pattern: an attacker must not be able to
    /// blacklist more than the handler it attacked, so no wildcard of its own, no cut path, and
    /// not the root with any query.
    static func isBlacklistable(_ pattern: String) -> Bool {
        let path = pattern.hasSuffix("?*") ? pattern.dropLast(2) : pattern[...]
        return !path.contains("*") && !path.hasSuffix("…") && path.count > 1 && path.hasPrefix("/")
    }

    /// The factor counts of `seen` fade by until `now`: halved every `halfLifeMs`. A clock that
    /// went back (an older record replayed) fades nothing.
    static func fading(from seen: Int64, to now: Int64, halfLifeMs: Int64) -> Double {
        let elapsed = max(0, Double(now) - Double(seen))
        return exp2(-elapsed / Double(max(1, halfLifeMs)))
    }

    /// The record of `pattern` faded to `now`, nil when nothing was learned on it.
    func record(_ pattern: String, now: Int64, halfLifeMs: Int64) -> PatternRecord? {
        guard var record = patterns[pattern] else { return nil }
        let factor = Self.fading(from: record.seen, to: now, halfLifeMs: halfLifeMs)
        record.consistent *= factor
        record.variants = record.variants.mapValues { $0.faded(by: factor) }
        record.seen = max(record.seen, now)
        return record
    }

    /// The evidence of `variant` on `pattern` faded to `now`, without copying the pattern's record
    /// (selection and publication ask this for every pattern).
    func evidence(_ variant: String, on pattern: String, now: Int64, halfLifeMs: Int64) -> Evidence? {
        guard let record = patterns[pattern], let evidence = record.variants[variant] else { return nil }
        return evidence.faded(by: Self.fading(from: record.seen, to: now, halfLifeMs: halfLifeMs))
    }

    /// The trust of `variant` on `pattern` at `now` (1 when nothing was learned).
    func trust(_ variant: String, on pattern: String, now: Int64, halfLifeMs: Int64) -> Double {
        evidence(variant, on: pattern, now: now, halfLifeMs: halfLifeMs)?.trust ?? 1
    }

    /// The pattern's reputation at `now`: consistent arbitrations against every dissent there,
    /// as a beta estimate (1 when nothing was learned).
    func reputation(_ pattern: String, now: Int64, halfLifeMs: Int64) -> Double {
        guard let record = record(pattern, now: now, halfLifeMs: halfLifeMs) else { return 1 }
        let dissents = record.variants.values.reduce(0) { $0 + $1.dissents }
        return (record.consistent + 1) / (record.consistent + dissents + 2)
    }

    /// Records one arbitration with a majority on `pattern`: which variants agreed and which
    /// dissented. Agreements on a pattern nobody ever dissented on are not kept (see `patterns`).
    /// Beyond `maxPatterns` the least recently seen pattern is forgotten.
    mutating func learn(
        pattern: String, agreeing: [String], dissenting: [String], now: Int64, halfLifeMs: Int64, maxPatterns: Int
    ) {
        guard dissenting.isEmpty == false || patterns[pattern] != nil else { return }
        var record = record(pattern, now: now, halfLifeMs: halfLifeMs) ?? PatternRecord(seen: now)
        if dissenting.isEmpty { record.consistent += 1 }
        for variant in agreeing { record.variants[variant, default: Evidence()].agreements += 1 }
        for variant in dissenting { record.variants[variant, default: Evidence()].dissents += 1 }
        let isNew = patterns[pattern] == nil
        patterns[pattern] = record
        guard isNew else { return }
        while patterns.count > max(1, maxPatterns) {
            // Never the pattern just learned, even when a replayed record makes it look oldest.
            guard
                let oldest = patterns.filter({ $0.key != pattern })
                    .min(by: { ($0.value.seen, $0.key) < ($1.value.seen, $1.key) })?.key
            else { break }
            patterns[oldest] = nil
        }
    }
}
