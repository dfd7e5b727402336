import Testing

@testable import AppWorker
@testable import Scheduling
@testable import Shared

/// One test per scheduling rule of issue 4, on the pure pool: event in, decision and state out.
@Suite struct PolicyRuleTests {
    typealias F = PolicyFixtures

    // MARK: Abnormal scheduling

    @Test func degradedReportsCountTowardsAbnormalInsideTheWindow() {
        var pool = F.filledPool(
            F.config(
                scheduling: Scheduling(
                    abnormalWindow: .seconds(10), seed: 1,
                    abnormalDegraded: 3)))
        let target = pool.ids(in: .online)[0]
        _ = pool.handle(F.health(target, .degraded), now: 2_000)
        // The first report left the window: this is again one of three, not two.
        let second = pool.handle(F.health(target, .degraded), now: 13_000)
        #expect(second.notes.map(\.reason) == ["degraded report 1 of 3 within 10000 ms"])
        _ = pool.handle(F.health(target, .degraded), now: 14_000)
        let third = pool.handle(F.health(target, .degraded, cause: "hb-3"), now: 15_000)
        #expect(pool.executors[target]?.state == .dirty)
        #expect(
            third.transitions.first { $0.executor == target }?.reason == "abnormal: 3 degraded reports within 10000 ms")
        #expect(third.transitions.first { $0.executor == target }?.cause == "hb-3")
        #expect(pool.count(.online) == 3, "a standby took its place in the same decision")
    }

    @Test func degradedThresholdZeroOnlyRecords() {
        var pool = F.filledPool(F.config(scheduling: Scheduling(seed: 1, abnormalDegraded: 0)))
        let target = pool.ids(in: .online)[0]
        for time in 2_000..<2_010 { _ = pool.handle(F.health(target, .degraded), now: Int64(time)) }
        #expect(pool.executors[target]?.state == .online)
    }

    @Test func lowSeverityAlertsCountTowardsAbnormalAndHighOnesActAtOnce() {
        var pool = F.filledPool(F.config(scheduling: Scheduling(seed: 1, abnormalLowSeverity: 3)))
        let online = pool.ids(in: .online)
        _ = pool.handle(F.alert(online[0], .low), now: 2_000)
        _ = pool.handle(F.alert(online[0], .medium), now: 2_001)
        #expect(pool.executors[online[0]]?.state == .online)
        let third = pool.handle(F.alert(online[0], .medium, cause: "waf-3"), now: 2_002)
        #expect(pool.executors[online[0]]?.state == .dirty)
        #expect(third.transitions.first?.reason.hasPrefix("abnormal: 3 medium/low alerts within 60000 ms") == true)
        #expect(third.transitions.first?.cause == "waf-3")

        // By address: the executor's ip:port, as a WAF names its upstream.
        let address = pool.executors[online[1]]!.endpoint
        _ = pool.handle(F.alert(address: address, .critical), now: 3_000)
        #expect(pool.executors[online[1]]?.state != .online)
    }

    @Test func anAnomalyNeverTakesOnlineBelowMinOnlineAndIsReplacedOnceAStandbyExists() {
        var pool = F.filledPool(F.config(online: 2, standby: 1, minOnline: 2))
        let online = pool.ids(in: .online)
        // The first anomaly uses the standby; its successor is still being created.
        let first = pool.handle(F.health(online[0], .down), now: 2_000)
        #expect(pool.count(.online) == 2 && pool.count(.standby) == 0 && pool.count(.initializing) == 1)
        let second = pool.handle(F.health(online[1], .down, cause: "hb-2"), now: 2_100)
        #expect(pool.count(.online) == 2, "never below min_online for an anomaly")
        #expect(pool.executors[online[1]]?.flagged == true)
        #expect(second.transitions.isEmpty)
        #expect(second.notes.first?.reason.contains("min_online=2") == true)
        // The moment the new standby is ready, the flagged executor is replaced.
        let ready = F.complete(&pool, first, now: 3_000)
        #expect(pool.executors[online[1]]?.state == .dirty)
        #expect(
            pool.executors[online[0]]?.state == .standby,
            "the older dirty one was released (retain_dirty=1) and cleaned")
        #expect(ready.contains { $0.transitions.contains { $0.executor == online[1] && $0.from == .online } })
        #expect(pool.count(.online) == 2)
    }

    // MARK: Negative feedback

    @Test func noMajorityBlacklistsTheURLAndPenalisesNobody() {
        var pool = F.filledPool(F.config())
        let online = pool.ids(in: .online)
        let decision = pool.handle(
            F.arbitration(online, dissenters: Array(online.prefix(2)), url: "/crafted"), now: 5_000)
        #expect(
            decision.listChanges == [
                ListUpdate(
                    list: .blacklist, op: .add, url: "/crafted", expiresAt: 5_000 + 3_600_000,
                    reason: "suspected: no majority, 2 of 3 executors dissented", cause: "arb")
            ])
        #expect(online.allSatisfy { pool.executors[$0]?.confidence == 1 && pool.executors[$0]?.state == .online })
    }

    // One URL and several variants, and the laundering of issue 16: LaunderingRuleTests.

    @Test func feedbackOffOrWhitelistedRecordsTheSuspicionWithoutBlacklisting() {
        var off = F.filledPool(F.config(scheduling: Scheduling(seed: 1, feedback: Feedback(blacklistSuspects: false))))
        let online = off.ids(in: .online)
        let decision = off.handle(F.arbitration(online, dissenters: Array(online.prefix(2)), url: "/x"), now: 2_000)
        #expect(decision.listChanges.isEmpty)
        #expect(decision.notes.first?.reason.contains("feedback.blacklist_suspects is off") == true)

        var whitelisted = F.filledPool(F.config(lists: Lists(whitelist: ["/health*"])))
        _ = whitelisted.seedConfiguredLists(now: 1_000)
        let ids = whitelisted.ids(in: .online)
        let seen = whitelisted.handle(F.arbitration(ids, dissenters: Array(ids.prefix(2)), url: "/healthz"), now: 2_000)
        #expect(seen.listChanges.isEmpty)
        #expect(seen.notes.first?.reason.contains("whitelisted") == true)
    }

    @Test func variantsThatDissentOftenAreChosenLess() {
        var pool = F.filledPool(F.config())
        let online = pool.ids(in: .online)
        let noisy = pool.executors[online[0]]!.variant
        for time in 0..<8 {
            _ = pool.handle(
                F.arbitration(online, dissenters: [online[0]], url: "/u\(time)"), now: 2_000 + Int64(time) * 100_000)
        }
        #expect((pool.policy.variantTrust[noisy] ?? 1) < 0.5)
        // Among equally distant standbys, the trusted variant wins every draw.
        let selection = StandbySelection(
            strategy: .heterogeneity,
            traits: Dictionary(uniqueKeysWithValues: F.variants.map { ($0.name, $0.traits) }))
        let others = F.variants.map(\.name).filter { $0 != noisy }
        let candidates = [
            Executor(id: "a", variant: noisy, host: "h1", state: .standby, since: 0, reason: ""),
            Executor(id: "b", variant: others[0], host: "h1", state: .standby, since: 0, reason: ""),
        ]
        let joining = [Executor(id: "c", variant: others[1], host: "h1", state: .online, since: 0, reason: "")]
        var random = SchedulerRandom(seed: 3)
        for _ in 0..<20 {
            #expect(
                selection.pick(
                    from: candidates, joining: joining, variantTrust: pool.policy.variantTrust,
                    random: &random)?.id == "b")
        }
    }

    @Test func aVariantWaitingInStandbyReplacesADuplicateOnline() {
        func executor(_ id: String, _ variant: String, _ state: ExecutorState, since: Int64) -> Executor {
            Executor(
                id: id, variant: variant, host: "h1", endpoint: "127.0.0.1:1", state: state, since: since, reason: "")
        }
        var pool = ExecutorPool(
            settings: .init(config: F.config(standby: 1)),
            executors: [
                executor("e1", "nginx-php", .online, since: 100), executor("e2", "nginx-php", .online, since: 200),
                executor("e3", "apache-java", .online, since: 100), executor("e4", "caddy-go", .standby, since: 300),
            ], seed: 1)
        let decision = pool.handle(.replenish(cause: .startup), now: 1_000)
        #expect(
            decision.transitions.map { "\($0.executor) \($0.from!.rawValue)->\($0.to!.rawValue)" }
                == ["e2 online->standby", "e4 standby->online"], "the newer duplicate steps back")
        #expect(Set(pool.ids(in: .online).map { pool.executors[$0]!.variant }).count == 3)
        // Nothing more to gain: no further swaps.
        #expect(pool.handle(.replenish(cause: .message("again")), now: 1_001).transitions.isEmpty)
    }

    // MARK: Timed scheduling and manual control

    @Test func timedRotationTakesTheLongestOnlineOutUnlessPaused() {
        var pool = F.filledPool(F.config())
        let oldest = pool.ids(in: .online).min { (pool.executors[$0]!.since, $0) < (pool.executors[$1]!.since, $1) }!
        let decision = pool.handle(.rotationDue, now: 10_000)
        #expect(
            decision.transitions.first
                == Decision.Transition(
                    executor: oldest, from: .online, to: .cleaning,
                    reason: "timed rotation (rotate_every=10m with jitter)",
                    cause: "timer"))
        #expect(pool.count(.online) == 3)

        _ = pool.handle(.message(.pause, cause: "ops-1"), now: 11_000)
        let paused = pool.handle(.rotationDue, now: 12_000)
        #expect(paused.transitions.isEmpty)
        #expect(paused.notes.map(\.reason) == ["timed rotation skipped: scheduling is paused"])
        // An operator's rotate still forces one while paused.
        let forced = pool.handle(.message(.rotate, cause: "ops-2"), now: 13_000)
        #expect(forced.transitions.contains { $0.to == .cleaning && $0.cause == "ops-2" })
        // Both rotated executors cleaned: standbys are ready again for the next tick.
        F.complete(&pool, decision, now: 13_500)
        F.complete(&pool, forced, now: 13_500)
        _ = pool.handle(.message(.resume, cause: "ops-3"), now: 14_000)
        #expect(pool.handle(.rotationDue, now: 310_000).transitions.contains { $0.reason.hasPrefix("timed rotation") })
    }

    @Test func rotationTicksQueuedDuringAnOutageAreCoalesced() {
        var pool = F.filledPool(F.config())
        #expect(pool.handle(.rotationDue, now: 600_000).transitions.contains { $0.to == .cleaning })
        let queued = pool.handle(.rotationDue, now: 600_050)
        #expect(queued.transitions.isEmpty)
        #expect(queued.notes.first?.reason.hasPrefix("timed rotation skipped: the last one was 50 ms ago") == true)
    }

    @Test func rotationPeriodsStayInsideTheJitterBandAndVary() {
        var random = SchedulerRandom(seed: 9)
        let periods = (0..<200).map { _ in
            RotationClock.period(every: .seconds(100), jitter: 0.2, random: &random).milliseconds
        }
        #expect(periods.allSatisfy { (80_000...120_000).contains($0) })
        #expect(Set(periods).count > 150)
        #expect(RotationClock.period(every: .seconds(100), jitter: 0, random: &random) == .seconds(100))
    }

    @Test func operatorSetStateFollowsLegalMovesAndRotatesWhenTheSetIsFull() {
        var pool = F.filledPool(F.config())
        let standby = pool.ids(in: .standby)[0]
        let oldest = pool.ids(in: .online).min { (pool.executors[$0]!.since, $0) < (pool.executors[$1]!.since, $1) }!
        let request = SetStateRequest(executor: standby, state: .online, reason: "canary")
        let decision = pool.handle(.message(.setState(request), cause: "ops"), now: 5_000)
        #expect(pool.executors[standby]?.state == .online)
        #expect(pool.executors[oldest]?.state == .cleaning)
        #expect(
            decision.transitions.first { $0.executor == oldest }?.reason
                == "rotated out: operator put \(standby) online")
        #expect(pool.count(.online) == 3)

        let illegal = SetStateRequest(executor: oldest, state: .online, reason: nil)
        let refused = pool.handle(.message(.setState(illegal), cause: "ops-2"), now: 5_100)
        #expect(pool.executors[oldest]?.state == .cleaning)
        #expect(
            refused.notes.first?.reason
                == "set_state refused: cleaning -> online is not allowed (from cleaning: initializing, offline)")
    }

    // MARK: Dirty TTL and lists

    @Test func dirtyExecutorsAreReleasedAfterDirtyTTLButNotWhilePaused() {
        var pool = F.filledPool(F.config(retainDirty: 2, dirtyTTL: .seconds(30)))
        let target = pool.ids(in: .online)[0]
        _ = pool.handle(F.health(target, .down), now: 10_000)
        #expect(pool.executors[target]?.state == .dirty)
        #expect(pool.handle(.housekeeping, now: 39_999).isEmpty)
        _ = pool.handle(.message(.pause, cause: "ops"), now: 39_999)
        #expect(pool.handle(.housekeeping, now: 40_000).transitions.isEmpty)
        _ = pool.handle(.message(.resume, cause: "ops"), now: 40_000)
        let released = pool.handle(.housekeeping, now: 40_001)
        #expect(
            released.transitions.first
                == Decision.Transition(
                    executor: target, from: .dirty, to: .cleaning,
                    reason: "released from dirty: dirty_ttl=30s elapsed", cause: "timer"))
    }

    /// Issue 12 finding 1: `now + ttl` trapped the worker for a TTL of Int64.max ms. Validation
    /// bounds it now; a value that still reaches the pool saturates to "never expires".
    @Test func aTTLBeyondTheClockSaturatesInsteadOfTrapping() {
        var pool = F.filledPool(F.config())
        let added = pool.handle(F.list(.blacklist, .add, "/x", ttl: .milliseconds(Int64.max)), now: 2_000)
        #expect(added.listChanges.map(\.expiresAt) == [Int64.max])
    }

    @Test func listEntriesWithATTLExpireAndPermanentOnesStay() {
        var pool = F.filledPool(F.config(lists: Lists(blacklist: ["/admin/*"])))
        #expect(pool.seedConfiguredLists(now: 1_000).listChanges.map(\.url) == ["/admin/*"])
        #expect(pool.seedConfiguredLists(now: 1_001).listChanges.isEmpty, "already stored")
        let added = pool.handle(F.list(.blacklist, .add, "/wp-login.php", ttl: .seconds(2)), now: 2_000)
        #expect(
            added.listChanges == [
                ListUpdate(
                    list: .blacklist, op: .add, url: "/wp-login.php", expiresAt: 4_000,
                    reason: "list message", cause: "list")
            ])
        let again = pool.handle(F.list(.whitelist, .remove, "/absent"), now: 2_100)
        #expect(again.listChanges.isEmpty)
        #expect(again.notes.map(\.reason) == ["whitelist remove /absent: no change"])
        #expect(pool.handle(.housekeeping, now: 3_999).listChanges.isEmpty)
        let expired = pool.handle(.housekeeping, now: 4_000)
        #expect(
            expired.listChanges == [
                ListUpdate(
                    list: .blacklist, op: .remove, url: "/wp-login.php", expiresAt: nil,
                    reason: "expired", cause: "timer")
            ])
        #expect(pool.policy.lists.contains(.blacklist, "/admin/*"))
        #expect(!pool.policy.lists.contains(.blacklist, "/wp-login.php"))
        #expect(pool.policy.lists.matches(.blacklist, "/admin/users"))
    }

    @Test func globPatterns() {
        #expect(ListBook.pattern("/admin/*", matches: "/admin/x/y"))
        #expect(ListBook.pattern("*.php", matches: "/a/b.php"))
        #expect(ListBook.pattern("/a*b*c", matches: "/aXbYc"))
        #expect(!ListBook.pattern("/a*b*c", matches: "/aXbY"))
        #expect(!ListBook.pattern("/admin", matches: "/admin/x"))
    }

    // MARK: Bracket outputs

    @Test func onlineSetIsPublishedOnMembershipOrWeightChangeWithGrowingVersions() {
        var pool = F.filledPool(F.config())
        let first = pool.onlinePublication(app: "shop")
        #expect(first?.version == 1 && first?.online.count == 3)
        #expect(pool.onlinePublication(app: "shop") == nil, "nothing changed")
        let online = pool.ids(in: .online)
        _ = pool.handle(F.arbitration(online, dissenters: [online[0]], url: "/a"), now: 2_000)
        let weighted = pool.onlinePublication(app: "shop")
        #expect(weighted?.version == 2)
        #expect(weighted?.online.first { $0.id == online[0] }?.weight == 0.85)
        _ = pool.handle(F.arbitration(online, dissenters: [], url: "/a"), now: 2_001)
        #expect(pool.onlinePublication(app: "shop") == nil, "a recovery below epsilon is not worth a version")
    }
}
