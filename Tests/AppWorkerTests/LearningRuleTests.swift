import Testing

@testable import AppWorker
@testable import Scheduling
@testable import Shared

/// Issue 16, item 3, on the pure pool: the self-learning negative feedback (`scheduling.learning`)
/// sees what the fixed rules forget after `abnormal.window`, per URL pattern, and acts on both
/// brackets (learned ejection, trust-gated selection, learned blacklist, weights).
@Suite struct LearningRuleTests {
    typealias F = PolicyFixtures

    static func config(learning: Bool, ejectBelow: Double = 0.25, maxPatterns: Int = 256) -> AppConfig {
        F.config(
            scheduling: Scheduling(
                abnormalDissents: 3, abnormalWindow: .seconds(60), seed: 1,
                learning: Learning(
                    enabled: learning, halfLife: .seconds(600), ejectBelow: ejectBelow, maxPatterns: maxPatterns)))
    }

    /// `target` dissents alone on `/admin/upload?f=<n>` every 31 s (never three inside the 60 s
    /// window); the index of the dissent that took it out of `online`, or nil.
    static func slowDrip(_ pool: inout ExecutorPool, _ target: String, start: Int64, count: Int) -> Int? {
        for index in 0..<count {
            let online = pool.ids(in: .online)
            _ = pool.handle(
                F.arbitration(online, dissenters: [target], url: "/admin/upload?f=\(index)"),
                now: start + Int64(index) * 31_000)
            if pool.executors[target]?.state != .online { return index }
        }
        return nil
    }

    @Test func theSlowDripIsEjectedAtItsThirdDissentOnThePatternOnlyWithLearning() throws {
        var fixed = F.filledPool(Self.config(learning: false))
        var learned = F.filledPool(Self.config(learning: true))
        let target = fixed.ids(in: .online)[0]
        #expect(learned.ids(in: .online)[0] == target)
        #expect(Self.slowDrip(&fixed, target, start: 2_000, count: 12) == nil, "under the fixed threshold")
        #expect(Self.slowDrip(&learned, target, start: 2_000, count: 12) == 2)
        let executor = try #require(learned.executors[target])
        #expect(executor.state == .dirty)
        #expect(
            executor.reason.hasPrefix("abnormal: learned: variant \(executor.variant) trusted 0.2"),
            "\(executor.reason)")
        #expect(executor.reason.contains("on /admin/upload?*"))
    }

    @Test func anotherExecutorOfTheDistrustedVariantIsEjectedAtItsFirstDissentThere() throws {
        var pool = F.filledPool(Self.config(learning: true))
        let standbyVariants = Set(pool.ids(in: .standby).compactMap { pool.executors[$0]?.variant })
        let target = try #require(
            pool.ids(in: .online).first { standbyVariants.contains(pool.executors[$0]?.variant ?? "") })
        let variant = try #require(pool.executors[target]?.variant)
        #expect(Self.slowDrip(&pool, target, start: 2_000, count: 3) == 2)
        // The operator puts another executor of the same build online (selection would not).
        let twin = try #require(
            pool.executors.values.filter { $0.variant == variant && $0.id != target && $0.state == .standby }.first?.id)
        _ = pool.handle(
            .message(.setState(SetStateRequest(executor: twin, state: .online, reason: nil)), cause: "ops"),
            now: 100_000)
        #expect(pool.executors[twin]?.state == .online)
        _ = pool.handle(
            F.arbitration(pool.ids(in: .online), dissenters: [twin], url: "/admin/upload?f=new"), now: 101_000)
        #expect(pool.executors[twin]?.state != .online, "one dissent where its build is distrusted")
        // A dissent elsewhere is judged on its own pattern: a fresh executor is not ejected for it.
        let other = try #require(pool.ids(in: .online).first { pool.executors[$0]?.variant != variant })
        _ = pool.handle(F.arbitration(pool.ids(in: .online), dissenters: [other], url: "/login"), now: 102_000)
        #expect(pool.executors[other]?.state == .online)
    }

    /// Online executors whose variant has a standby of its own, and a standby of another variant:
    /// with the fixed rules heterogeneity brings the attacked build straight back (it is the one
    /// farthest from the rest); learning keeps it in standby while the evidence is fresh.
    @Test func aStandbyOfTheAttackedVariantStaysInStandbyWhileTheAttackGoesOn() throws {
        for learning in [false, true] {
            var pool = F.filledPool(Self.config(learning: learning))
            let standbyVariants = Set(pool.ids(in: .standby).compactMap { pool.executors[$0]?.variant })
            let target = try #require(
                pool.ids(in: .online).first { standbyVariants.contains(pool.executors[$0]?.variant ?? "") })
            let variant = try #require(pool.executors[target]?.variant)
            #expect(standbyVariants.count == 2, "a standby of another variant can step in")
            // Three quick dissents: the dissent rule ejects it, with learning or without.
            for second in 0..<3 {
                _ = pool.handle(
                    F.arbitration(pool.ids(in: .online), dissenters: [target], url: "/admin/upload?f=x"),
                    now: 2_000 + Int64(second) * 1_000)
            }
            #expect(pool.executors[target]?.state == .dirty)
            let promoted = pool.ids(in: .online).compactMap { pool.executors[$0]?.variant }
            if learning {
                #expect(!promoted.contains(variant), "\(variant) is under attack: \(promoted)")
                #expect(pool.variantsUnderAttack(now: 5_000) == [variant])
                // Five half-lives later without a dissent the attack is over: admissible again.
                #expect(pool.variantsUnderAttack(now: 5_000 + 5 * 600_000).isEmpty)
            } else {
                #expect(promoted.contains(variant), "the fixed rules bring the attacked build back")
            }
        }
    }

    /// Two variants each dissenting against a majority on one pattern, further apart than the
    /// window (so the fixed rule, which wants them failing at once, sees nothing): the pattern's
    /// reputation falls and it goes to the blacklist. One failing variant points at the build.
    @Test func aPatternOnWhichTwoVariantsAreDistrustedIsBlacklisted() throws {
        for learning in [false, true] {
            var pool = F.filledPool(Self.config(learning: learning, ejectBelow: 0))
            let online = pool.ids(in: .online)
            var blacklisted: [ListUpdate] = []
            var now: Int64 = 2_000
            for (index, dissenter) in [online[0], online[0], online[0], online[1], online[1], online[1]].enumerated() {
                if index == 4 {
                    #expect(blacklisted.isEmpty, "one failing variant points at the build, not the URL")
                }
                blacklisted +=
                    pool.handle(
                        F.arbitration(online, dissenters: [dissenter], url: "/api/export?id=\(index)"), now: now
                    ).listChanges
                now += 70_000
            }
            #expect(pool.ids(in: .online) == online, "nobody was ejected (eject_below 0, under the threshold)")
            if learning {
                #expect(blacklisted.map(\.url) == ["/api/export?*"])
                #expect(blacklisted.first?.reason.contains("learned: reputation 0.") == true, "\(blacklisted)")
                let expiry = try #require(blacklisted.first?.expiresAt)
                #expect(expiry == 2_000 + 4 * 70_000 + 3_600_000, "feedback.suspect_ttl from B's second dissent")
            } else {
                #expect(blacklisted.isEmpty)
            }
        }
    }

    @Test func theWeightOfADistrustedVariantFallsWithItsTrust() throws {
        var fixed = F.filledPool(Self.config(learning: false, ejectBelow: 0))
        var learned = F.filledPool(Self.config(learning: true, ejectBelow: 0))
        _ = fixed.onlinePublication(app: "shop")
        _ = learned.onlinePublication(app: "shop")
        let target = learned.ids(in: .online)[0]
        #expect(Self.slowDrip(&fixed, target, start: 2_000, count: 4) == nil)
        #expect(Self.slowDrip(&learned, target, start: 2_000, count: 4) == nil, "eject_below 0 never ejects")
        let fixedPublication = fixed.onlinePublication(app: "shop")
        let learnedPublication = learned.onlinePublication(app: "shop")
        let fixedView = try #require(fixedPublication)
        let learnedView = try #require(learnedPublication)
        let fixedWeight = try #require(fixedView.online.first { $0.id == target }?.weight)
        let learnedWeight = try #require(learnedView.online.first { $0.id == target }?.weight)
        let confidence = try #require(learned.executors[target]?.confidence)
        // Four dissents, no agreement on the pattern: trust (0 + 1) / (0 + ~3.8 + 2) ≈ 0.17.
        #expect(abs(fixedWeight - confidence) < 0.001)
        #expect(learnedWeight < confidence * 0.2 && learnedWeight > confidence * 0.15, "\(learnedWeight)")
        let others = learnedView.online.filter { $0.id != target }
        #expect(others.allSatisfy { $0.weight > 0.99 }, "the variants that agreed keep their weight")
    }

    @Test func theMemoryKeepsAtMostMaxPatternsTheLeastRecentlySeenGoFirst() throws {
        var pool = F.filledPool(Self.config(learning: true, ejectBelow: 0, maxPatterns: 4))
        let online = pool.ids(in: .online)
        for index in 0..<20 {
            _ = pool.handle(
                F.arbitration(online, dissenters: [online[index % 3]], url: "/p\(index)"), now: 2_000 + Int64(index))
        }
        let patterns = try #require(pool.policy.learned?.patterns)
        #expect(Set(patterns.keys) == ["/p16", "/p17", "/p18", "/p19"])
        // Agreements alone on an unknown pattern teach nothing and keep nothing.
        _ = pool.handle(F.arbitration(online, dissenters: [], url: "/quiet"), now: 3_000)
        #expect(pool.policy.learned?.patterns["/quiet"] == nil)
        #expect(pool.policy.learned?.patterns.count == 4)
    }

    @Test func patternsAreThePathWithAnyQueryAndOnlyPlainPathsMayBeBlacklisted() {
        #expect(LearnedTrust.pattern(of: "/admin/upload?f=x.php") == "/admin/upload?*")
        #expect(LearnedTrust.pattern(of: "/admin/upload") == "/admin/upload")
        #expect(LearnedTrust.pattern(of: "/a#frag") == "/a")
        #expect(LearnedTrust.pattern(of: "") == nil)
        let long = "/" + String(repeating: "x", count: 5_000) + "?q=1"
        #expect(LearnedTrust.pattern(of: long)?.count == LearnedTrust.maxPatternLength + 3)
        #expect(LearnedTrust.isBlacklistable("/admin/upload?*"))
        #expect(LearnedTrust.isBlacklistable("/admin/upload"))
        #expect(!LearnedTrust.isBlacklistable("/?*"), "the root with any query is every search of the site")
        #expect(!LearnedTrust.isBlacklistable("/*"), "a wildcard of the attacker's own")
        #expect(!LearnedTrust.isBlacklistable(LearnedTrust.pattern(of: long)!), "a cut path")
        #expect(!LearnedTrust.isBlacklistable("admin"))
    }

    /// `pattern(of:)` reads plain ASCII URLs by bytes; random URLs (ASCII, marks that combine
    /// with `?`, CRLF, long paths) must give what the character walk gives.
    @Test func theBytePathOfPatternsAgreesWithTheCharacterWalk() {
        func walked(_ url: String) -> String? {
            guard !url.isEmpty else { return nil }
            let path = url.prefix { $0 != "?" && $0 != "#" }
            let hadQuery = url.dropFirst(path.count).first == "?"
            let max = LearnedTrust.maxPatternLength
            let kept = path.count > max ? String(path.prefix(max)) + "…" : String(path)
            return hadQuery ? kept + "?*" : kept
        }
        let pieces = [
            "/", "a", "x", "?", "#", "=", "&", "\r\n", "\u{301}", "é", "%3F", "*", String(repeating: "p", count: 200),
        ]
        var random = SchedulerRandom(seed: 16)
        for _ in 0..<20_000 {
            let url = (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
            #expect(LearnedTrust.pattern(of: url) == walked(url), "\(url.debugDescription)")
        }
        #expect(LearnedTrust.pattern(of: "/a?\u{301}") == walked("/a?\u{301}"))
    }

    /// A clock that jumps over the whole range of `at` and back must not trap, and the learned
    /// trust stays in 0...1 for any `Int64` clock.
    @Test func extremeClocksNeitherTrapNorLeaveTheUnitInterval() throws {
        var pool = F.filledPool(Self.config(learning: true))
        let online = pool.ids(in: .online)
        // The validated range of `at`, forwards and backwards.
        for now: Int64 in [0, 253_402_300_799_999, 1, 253_402_300_799_998, 0] {
            _ = pool.handle(F.arbitration(online, dissenters: [online[1]], url: "/x?y"), now: now)
            _ = pool.handle(F.arbitration(online, dissenters: [], url: "/x?y"), now: now)
            _ = pool.handle(.housekeeping, now: now)
            _ = pool.onlinePublication(app: "shop")
        }
        let learned = try #require(pool.policy.learned)
        for variant in F.variants.map(\.name) {
            for now: Int64 in [.min, 0, .max] {
                let trust = learned.trust(variant, on: "/x?*", now: now, halfLifeMs: 600_000)
                #expect(trust > 0 && trust <= 1 && trust.isFinite)
            }
        }
    }
}
