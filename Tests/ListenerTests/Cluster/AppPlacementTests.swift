import Testing

@testable import Listener

/// `AppPlacement`: the map every instance computes alone from the live set (DESIGN section 11).
/// Names come from fixed seeds and the hash is stable, so every case here is deterministic.
struct AppPlacementTests {
    @Test func noInstanceOrNoAppGivesAnEmptyMap() {
        #expect(AppPlacement.assign(apps: ["shop", "blog"], instances: []).isEmpty)
        #expect(AppPlacement.assign(apps: [], instances: ["sched-a"]).isEmpty)
        #expect(AppPlacement.assign(apps: [], instances: []).isEmpty)
    }

    @Test func oneInstanceTakesEveryApp() {
        let apps = (1...7).map { "app-\($0)" }
        #expect(
            AppPlacement.assign(apps: apps, instances: ["sched-a"])
                == Dictionary(uniqueKeysWithValues: apps.map { ($0, "sched-a") }))
    }

    @Test func everyInstanceGetsTheFloorOrTheCeilingOfItsShare() {
        for k in 1...10 {
            for n in 0...40 {
                let apps = (0..<n).map { "app-\(k)-\($0)" }
                let instances = (0..<k).map { "node-\(n)-\($0)" }
                let placement = AppPlacement.assign(apps: apps, instances: instances)
                #expect(Set(placement.keys) == Set(apps), "every app placed (n \(n), k \(k))")
                #expect(Set(placement.values).isSubset(of: instances))
                var load = Dictionary(uniqueKeysWithValues: instances.map { ($0, 0) })
                for owner in placement.values { load[owner, default: 0] += 1 }
                let counts = load.values
                #expect(counts.allSatisfy { $0 == n / k || $0 == (n + k - 1) / k }, "n \(n), k \(k): \(load)")
                #expect(counts.filter { $0 > n / k }.count == n % k)
            }
        }
    }

    @Test func theSameSetsGiveTheSameMapInAnyOrder() {
        var random = SeededRandom(seed: 11)
        for round in 0..<200 {
            let n = Int.random(in: 0...30, using: &random)
            let k = Int.random(in: 1...8, using: &random)
            let apps = (0..<n).map { "app-\(round)-\($0)" }
            let instances = (0..<k).map { "node-\(round)-\($0)" }
            let expected = AppPlacement.assign(apps: apps, instances: instances)
            // Shuffled, and with repeats: the same sets.
            let shuffledApps = (apps + apps.prefix(2)).shuffled(using: &random)
            let shuffledInstances = (instances + instances.suffix(1)).shuffled(using: &random)
            #expect(AppPlacement.assign(apps: shuffledApps, instances: shuffledInstances) == expected)
        }
    }

    @Test func theWeightIsTheSameInEveryProcess() {
        // Pinned values (FNV-1a 64 of "app\0instance", then splitmix64's finalizer): a per-process
        // seeded hash such as `Hasher` would make two instances disagree about the owners.
        #expect(AppPlacement.weight(app: "shop", instance: "sched-a") == 0x18dc_a6cf_c371_f513)
        #expect(AppPlacement.weight(app: "blog", instance: "sched-b") == 0x59e9_368c_2df0_823f)
        #expect(AppPlacement.weight(app: "", instance: "") == 0x25fc_6dd3_6ce0_4b20)
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        #expect(AppPlacement.weight(app: "ab", instance: "c") != AppPlacement.weight(app: "a", instance: "bc"))
    }

    /// Twelve apps on three instances, then a fourth joins: it must get 3 apps (12 / 4), so at
    /// least 3 move. Pure rendezvous would move exactly the apps whose best instance is the new
    /// one; the cap (4 each, then 3) also pushes some of the rest along. Over 100 name sets no
    /// more than twice the minimum moves (a round-robin of the sorted apps would move 9 of 12),
    /// and the average stays well under that.
    @Test func aFourthInstanceForTwelveAppsMovesAtMostTwiceWhatMust() {
        var total = 0
        for seed in 0..<100 {
            let apps = (0..<12).map { "app-\(seed)-\($0)" }
            let three = (0..<3).map { "node-\(seed)-\($0)" }
            let before = AppPlacement.assign(apps: apps, instances: three)
            let after = AppPlacement.assign(apps: apps, instances: three + ["node-\(seed)-3"])
            #expect(after.values.filter { $0 == "node-\(seed)-3" }.count == 3)
            let moved = apps.filter { before[$0] != after[$0] }.count
            #expect(moved <= 6, "seed \(seed): \(moved) of 12 moved")
            total += moved
        }
        #expect(Double(total) / 100 <= 4.5, "on average \(Double(total) / 100) of 12 moved")
    }

    /// One instance joins or leaves, for many fleet sizes (n ≥ 2k, the typical case: an app or
    /// more per instance). What must move: the apps the newcomer gets, or the leaver's apps. What
    /// moves besides, apps going from one surviving instance to another because the cap changed,
    /// stays under 1.25 × what must move, summed over 20 name sets per size (measured: 1.15 for a
    /// join, 0.88 for a leave, at worst).
    @Test func aJoinOrALeaveMovesLittleBeyondWhatMust() {
        for k in 2...6 {
            for n in stride(from: 2 * k, through: 36, by: 2) {
                var (joinNeeded, joinExtra, leaveNeeded, leaveExtra) = (0, 0, 0, 0)
                for seed in 0..<20 {
                    let apps = (0..<n).map { "app-\(seed)-\($0)" }
                    let instances = (0..<k).map { "node-\(seed)-\($0)" }
                    let newcomer = "node-\(seed)-\(k)"
                    let before = AppPlacement.assign(apps: apps, instances: instances)

                    let joined = AppPlacement.assign(apps: apps, instances: instances + [newcomer])
                    joinNeeded += apps.filter { joined[$0] == newcomer }.count
                    joinExtra += apps.filter { joined[$0] != newcomer && joined[$0] != before[$0] }.count

                    let leaver = instances[0]
                    let left = AppPlacement.assign(apps: apps, instances: Array(instances.dropFirst()))
                    #expect(!left.values.contains(leaver))
                    leaveNeeded += apps.filter { before[$0] == leaver }.count
                    leaveExtra += apps.filter { before[$0] != leaver && left[$0] != before[$0] }.count
                }
                #expect(Double(joinExtra) <= 1.25 * Double(joinNeeded), "join, n \(n), k \(k)")
                #expect(Double(leaveExtra) <= 1.25 * Double(leaveNeeded), "leave, n \(n), k \(k)")
            }
        }
    }
}
