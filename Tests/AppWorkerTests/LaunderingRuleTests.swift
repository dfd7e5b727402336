import Testing

@testable import AppWorker
@testable import Scheduling
@testable import Shared

/// Issue 16, item 2: the URL-suspicion rule must not launder a compromised executor. In the demo
/// an executor of another variant dissented once on the attacked URL while it was dying; the URL
/// was then suspected and every later dissent of the compromised executor on it was forgiven.
@Suite struct LaunderingRuleTests {
    typealias F = PolicyFixtures

    static let attacked = "/admin/upload?f=x.php"

    /// The arbitration index (0-based) at which `target` left `online`, dissenting alone on `url`
    /// from `start`, or nil if it was still online after `count` dissents.
    static func ejectedAt(
        _ pool: inout ExecutorPool, _ target: String, online: [String], url: String, start: Int64, count: Int
    ) -> Int? {
        for index in 0..<count {
            _ = pool.handle(F.arbitration(online, dissenters: [target], url: url), now: start + Int64(index) * 100)
            if pool.executors[target]?.state != .online { return index }
        }
        return nil
    }

    @Test func aVariantDissentingAloneIsEjectedAsOnACleanURLWhateverAStrayDissentDidBefore() throws {
        let config = F.config(scheduling: Scheduling(abnormalDissents: 3, seed: 1))
        var clean = F.filledPool(config)
        var laundered = F.filledPool(config)
        let online = clean.ids(in: .online)
        #expect(laundered.ids(in: .online) == online, "the same seed gives the same pool")
        let compromised = online[0]
        let dying = online[1]
        #expect(clean.executors[compromised]?.variant != clean.executors[dying]?.variant)

        let onClean = Self.ejectedAt(&clean, compromised, online: online, url: Self.attacked, start: 2_000, count: 10)
        #expect(onClean == 2, "the third dissent inside the window ejects")

        // One stray dissent of another variant on the attacked URL, then the attack.
        _ = laundered.handle(F.arbitration(online, dissenters: [dying], url: Self.attacked), now: 1_900)
        let onLaundered = Self.ejectedAt(
            &laundered, compromised, online: online, url: Self.attacked, start: 2_000, count: 10)
        #expect(onLaundered == onClean, "ejected exactly as if the URL were clean")
        #expect(laundered.executors[compromised]?.state == .dirty)
        #expect(laundered.executors[dying]?.state == .online, "one dissent is not an anomaly")
        #expect(laundered.executors[dying]?.dissents == 1, "and it is not forgiven either")
        #expect(
            !laundered.policy.lists.contains(.blacklist, Self.attacked),
            "the other variant agreed on the URL since its stray dissent: nothing points at the request")
    }

    @Test func aDissentAgainstAMajorityCountsEvenOnABlacklistedURL() {
        var pool = F.filledPool(F.config(scheduling: Scheduling(abnormalDissents: 3, seed: 1)))
        let online = pool.ids(in: .online)
        _ = pool.handle(F.list(.blacklist, .add, "/admin/*"), now: 1_500)
        #expect(pool.policy.lists.matches(.blacklist, Self.attacked))
        let ejected = Self.ejectedAt(&pool, online[0], online: online, url: Self.attacked, start: 2_000, count: 10)
        #expect(ejected == 2, "a left bracket that still sends the URL does not shelter the attacker")
    }

    @Test func aPoisonURLOnWhichEveryVariantDissentsIsBlacklistedAndNobodyEjected() {
        var pool = F.filledPool(F.config(scheduling: Scheduling(abnormalDissents: 2, seed: 1)))
        let online = pool.ids(in: .online)
        var changes: [ListUpdate] = []
        for index in 0..<20 {
            // Every executor answers differently: the bracket names all, or any two, as dissenters.
            let dissenters = index % 2 == 0 ? online : [online[index % 3], online[(index + 1) % 3]]
            changes +=
                pool.handle(F.arbitration(online, dissenters: dissenters, url: "/poison"), now: 2_000 + Int64(index))
                .listChanges
        }
        #expect(changes.map(\.url) == ["/poison"], "blacklisted once")
        #expect(pool.ids(in: .online) == online)
        #expect(online.allSatisfy { pool.executors[$0]?.confidence == 1 && pool.executors[$0]?.dissents == 0 })
    }

    @Test func severalVariantsFailingTogetherAgainstAMajorityBlacklistTheURLAndStillCount() throws {
        // Five online of five variants, so two dissenters are a minority of two different builds.
        var config = F.config(online: 5, standby: 1, scheduling: Scheduling(abnormalDissents: 3, seed: 1))
        config.variants = (1...5).map { Variant(name: "v\($0)", traits: ["lang": "l\($0)"]) }
        var pool = F.filledPool(config)
        let online = pool.ids(in: .online)
        try #require(Set(online.compactMap { pool.executors[$0]?.variant }).count == 5)
        let decision = pool.handle(
            F.arbitration(online, dissenters: [online[0], online[1]], url: "/upload"), now: 2_000)
        #expect(decision.listChanges.map(\.url) == ["/upload"], "two builds fail on it and none answered otherwise")
        #expect(
            pool.executors[online[0]]?.dissents == 1 && pool.executors[online[1]]?.dissents == 1, "a majority agreed")
    }
}
