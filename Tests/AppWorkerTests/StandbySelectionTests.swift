import Shared
import Testing

@testable import AppWorker
@testable import Scheduling

struct StandbySelectionTests {
    static let traits: [String: [String: String]] = [
        "a": ["os": "linux", "web": "nginx", "lang": "php", "db": "mysql"],
        "b": ["os": "linux", "web": "nginx", "lang": "php", "db": "pg"],
        "c": ["os": "bsd", "web": "apache", "lang": "java", "db": "pg"],
        "d": ["os": "bsd", "web": "apache", "lang": "java"],
    ]

    func executor(_ id: String, _ variant: String, since: Int64 = 0, confidence: Double = 1) -> Executor {
        Executor(
            id: id, variant: variant, host: "h1", state: .standby, since: since, confidence: confidence,
            reason: "test")
    }

    func selection(_ strategy: SelectionStrategy) -> StandbySelection {
        StandbySelection(strategy: strategy, traits: Self.traits)
    }

    @Test func distanceCountsDifferingAndMissingTraits() {
        let s = selection(.heterogeneity)
        #expect(s.distance("a", "a") == 0)
        #expect(s.distance("a", "b") == 1)
        #expect(s.distance("a", "c") == 4)
        #expect(s.distance("b", "c") == 3)
        #expect(s.distance("c", "d") == 1)  // d lacks db
        #expect(s.distance("a", "d") == 4)
        #expect(s.distance("a", "unknown") == 4)
        #expect(s.distance("unknown", "other") == 0)
        #expect(s.distance("c", "a") == s.distance("a", "c"))
    }

    @Test(arguments: [UInt64(1), 2, 3, 99, 12345])
    func heterogeneityPicksLargestSummedDistance(seed: UInt64) {
        var random = SchedulerRandom(seed: seed)
        let online = [executor("o1", "a"), executor("o2", "b")]
        // Sums against a+b: a=1, b=1, c=4+3=7, d=4+4=8.
        let candidates = [executor("x", "a"), executor("y", "c"), executor("z", "d"), executor("w", "b")]
        #expect(selection(.heterogeneity).pick(from: candidates, joining: online, random: &random)?.id == "z")
    }

    @Test(arguments: [UInt64(1), 2, 3, 99, 12345])
    func tiesBrokenByConfidence(seed: UInt64) {
        var random = SchedulerRandom(seed: seed)
        let online = [executor("o1", "a")]
        // c and d are both at distance 4 from a; the more trusted one wins.
        let candidates = [
            executor("low", "c", confidence: 0.6), executor("high", "d", confidence: 0.9),
            executor("near", "b", confidence: 1.0),
        ]
        #expect(selection(.heterogeneity).pick(from: candidates, joining: online, random: &random)?.id == "high")
    }

    @Test func nearEqualConfidenceStaysRandomAndSeeded() {
        let online = [executor("o1", "a")]
        let candidates = [executor("p", "c", confidence: 0.900), executor("q", "d", confidence: 0.895)]
        var picked: Set<String> = []
        for seed in UInt64(0)..<64 {
            var random = SchedulerRandom(seed: seed)
            let first = selection(.heterogeneity).pick(from: candidates, joining: online, random: &random)!.id
            var again = SchedulerRandom(seed: seed)
            #expect(selection(.heterogeneity).pick(from: candidates, joining: online, random: &again)?.id == first)
            picked.insert(first)
        }
        #expect(picked == ["p", "q"])
    }

    @Test func heterogeneityWithNothingOnlineIsRandom() {
        let candidates = ["a", "b", "c", "d"].map { executor("s-\($0)", $0) }
        var picked: Set<String> = []
        for seed in UInt64(0)..<64 {
            var random = SchedulerRandom(seed: seed)
            picked.insert(selection(.heterogeneity).pick(from: candidates, joining: [], random: &random)!.id)
        }
        #expect(picked == Set(candidates.map(\.id)))
    }

    @Test func randomPicksAnyCandidateReproduciblyPerSeed() {
        let online = [executor("o1", "a")]
        let candidates = ["a", "b", "c", "d"].map { executor("s-\($0)", $0) }
        var picked: Set<String> = []
        for seed in UInt64(0)..<64 {
            var random = SchedulerRandom(seed: seed)
            let first = selection(.random).pick(from: candidates, joining: online, random: &random)!.id
            var again = SchedulerRandom(seed: seed)
            #expect(selection(.random).pick(from: candidates, joining: online, random: &again)?.id == first)
            picked.insert(first)
        }
        // Not steered by distance: the nearest one (s-a) is chosen too.
        #expect(picked == Set(candidates.map(\.id)))
    }

    @Test func roundRobinPicksLongestWaiting() {
        var random = SchedulerRandom(seed: 1)
        let candidates = [
            executor("e7", "c", since: 300), executor("e9", "a", since: 100),
            executor("e3", "d", since: 100), executor("e1", "b", since: 200),
        ]
        let s = selection(.roundRobin)
        // Oldest since first, id breaks the tie; distance and confidence do not matter.
        #expect(s.pick(from: candidates, joining: [executor("o", "a")], random: &random)?.id == "e3")
        #expect(s.pick(from: Array(candidates.prefix(2)), joining: [], random: &random)?.id == "e9")
    }

    @Test(arguments: SelectionStrategy.allCases)
    func emptyCandidatesPickNothing(strategy: SelectionStrategy) {
        var random = SchedulerRandom(seed: 5)
        #expect(selection(strategy).pick(from: [], joining: [executor("o", "a")], random: &random) == nil)
    }

    @Test func seededRandomIsDeterministicAndDistinctPerSeed() {
        var a = SchedulerRandom(seed: 42)
        var b = SchedulerRandom(seed: 42)
        var c = SchedulerRandom(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        #expect(Set(first).count == 8)
        var system1 = SchedulerRandom(seed: nil)
        var system2 = SchedulerRandom(seed: nil)
        #expect(system1.next() != system2.next())
    }

    @Test func placementSpreadsOverVariantsAndHealthyHosts() {
        let placement = Placement(variants: ["a", "b", "c"], hosts: ["h1", "h2", "h3"])
        let live = [
            Executor(id: "e1", variant: "a", host: "h1", state: .online, since: 0, reason: ""),
            Executor(id: "e2", variant: "b", host: "h1", state: .online, since: 0, reason: ""),
            Executor(id: "e3", variant: "a", host: "h2", state: .standby, since: 0, reason: ""),
        ]
        let next = placement.next(live: live, healthyHosts: ["h1", "h2", "h3"])
        #expect(next?.variant == "c")
        #expect(next?.host == "h3")
        let withoutH3 = placement.next(live: live, healthyHosts: ["h1", "h2"])
        #expect(withoutH3?.host == "h2")
        #expect(placement.next(live: live, healthyHosts: []) == nil)
        #expect(placement.next(live: live, healthyHosts: ["elsewhere"]) == nil)
    }
}
