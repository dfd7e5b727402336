import Testing

@testable import Listener

/// The ownership decisions of one instance, without Redis: what it takes, keeps, hands over and
/// drops for each combination of live instances, lease holders and its own lease validity.
@Suite struct OwnershipPlanTests {
    static let lease: Duration = .seconds(3)
    let start = ContinuousClock.now

    func plan(_ instance: String = "a") -> OwnershipPlan {
        OwnershipPlan(instance: instance, lease: Self.lease)
    }

    @Test func aFreeAppNamedForThisInstanceIsTakenAndThenRenewed() {
        var plan = plan()
        let apps = ["shop"]
        #expect(plan.tick(apps: apps, live: ["a"], holders: [:], now: start) == [.acquire("shop")])
        let first = plan.acquired("shop", claim: .held(token: 7), sentAt: start)
        let second = plan.acquired("shop", claim: .held(token: 7), sentAt: start)
        #expect(first)
        #expect(!second, "already owned: no second start")
        let holders = ["shop": LeaseHolder(instance: "a", token: 7)]
        #expect(
            plan.tick(apps: apps, live: ["a"], holders: holders, now: start + .seconds(1)) == [.renew("shop", token: 7)]
        )
    }

    @Test func aLeaseThatMayHaveExpiredIsDroppedEvenWhenRedisCannotBeAsked() {
        var plan = plan()
        _ = plan.acquired("shop", claim: .held(token: 1), sentAt: start)
        let mine = ["shop": LeaseHolder(instance: "a", token: 1)]
        // Renewals fail (Redis unreachable): no live set, the holders as last known.
        #expect(
            plan.tick(apps: ["shop"], live: [], holders: mine, now: start + .seconds(2)) == [.renew("shop", token: 1)])
        // A tenth of the lease before it ends, the instance stops acting as owner.
        #expect(plan.tick(apps: ["shop"], live: [], holders: mine, now: start + .milliseconds(2700)) == [.drop("shop")])
        #expect(plan.held.isEmpty)
    }

    @Test func anotherHolderInRedisMeansTheLeaseIsGone() {
        var plan = plan()
        _ = plan.acquired("shop", claim: .held(token: 1), sentAt: start)
        let taken = ["shop": LeaseHolder(instance: "b", token: 2)]
        #expect(
            plan.tick(apps: ["shop"], live: ["a", "b"], holders: taken, now: start + .seconds(1)) == [.drop("shop")])
    }

    @Test func aRefusedRenewalGivesTheAppUp() {
        var plan = plan()
        _ = plan.acquired("shop", claim: .held(token: 1), sentAt: start)
        plan.renewed("shop", kept: false, sentAt: start + .seconds(1))
        #expect(plan.held.isEmpty)
        plan.renewed("shop", kept: true, sentAt: start + .seconds(1))
        #expect(plan.held.isEmpty, "a late renewal does not bring a dropped app back")
    }

    @Test func anAppNamedForAnotherLiveInstanceIsHandedOver() {
        var plan = plan()
        let apps = ["blog", "mail", "shop", "wiki"]
        for app in apps { _ = plan.acquired(app, claim: .held(token: 1), sentAt: start) }
        let holders = Dictionary(uniqueKeysWithValues: apps.map { ($0, LeaseHolder(instance: "a", token: 1)) })
        let placement = AppPlacement.assign(apps: apps, instances: ["a", "b"])
        let steps = plan.tick(apps: apps, live: ["a", "b"], holders: holders, now: start + .seconds(1))
        for app in apps {
            #expect(steps.contains(placement[app] == "a" ? .renew(app, token: 1) : .handOver(app, token: 1)))
        }
        #expect(steps.count == apps.count)
    }

    @Test func aRemovedAppIsHandedOverAndAnUnknownOneIsLeftAlone() {
        var plan = plan()
        _ = plan.acquired("shop", claim: .held(token: 4), sentAt: start)
        #expect(
            plan.tick(apps: [], live: ["a"], holders: [:], now: start + .seconds(1)) == [.handOver("shop", token: 4)])
        plan.released("shop")
        #expect(plan.tick(apps: [], live: ["a"], holders: [:], now: start + .seconds(2)).isEmpty)
    }

    @Test func aFreeAppItsNamedOwnerDoesNotTakeIsTakenAfterALease() {
        var plan = plan()
        let apps = ["blog", "mail", "shop", "wiki"]
        let placement = AppPlacement.assign(apps: apps, instances: ["a", "b"])
        let others = apps.filter { placement[$0] == "b" }
        var steps = plan.tick(apps: apps, live: ["a", "b"], holders: [:], now: start)
        for app in others { #expect(!steps.contains(.acquire(app))) }
        steps = plan.tick(apps: apps, live: ["a", "b"], holders: [:], now: start + .seconds(2))
        for app in others { #expect(!steps.contains(.acquire(app))) }
        steps = plan.tick(apps: apps, live: ["a", "b"], holders: [:], now: start + Self.lease)
        for app in others { #expect(steps.contains(.acquire(app)), "\(app) free for a whole lease") }
    }

    @Test func withoutItsOwnHeartbeatAnInstanceTakesNothing() {
        var plan = plan()
        #expect(plan.tick(apps: ["shop"], live: ["b"], holders: [:], now: start).isEmpty)
        #expect(plan.tick(apps: ["shop"], live: ["b"], holders: [:], now: start + .seconds(10)).isEmpty)
    }

    @Test func aGracefulStopReleasesEverything() {
        var plan = plan()
        _ = plan.acquired("shop", claim: .held(token: 2), sentAt: start)
        _ = plan.acquired("blog", claim: .held(token: 5), sentAt: start)
        let all = plan.releaseAll()
        #expect(all.map(\.app) == ["blog", "shop"] && all.map(\.token) == [5, 2])
        #expect(plan.held.isEmpty)
    }
}
