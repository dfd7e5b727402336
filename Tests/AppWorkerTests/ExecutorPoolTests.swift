import Foundation
import Shared
import Testing

@testable import AppWorker
@testable import Scheduling

/// The pure scheduler: every rule of DESIGN section 7 driven with explicit `now` and a fixed seed.
/// `Fixtures.steady()` is the default app (online 3, standby 2, min_online 2, retain_dirty 2,
/// variants v1 v2 v3 on hosts h1 h2) after start-up: online e1 e2 e3, standby e4 e5.
struct ExecutorPoolTests {
    typealias F = Fixtures

    // MARK: - Start-up and creation

    @Test func startUpReplenishCreatesSpreadOverHostsAndVariants() {
        var pool = F.pool(F.config())
        let decision = pool.handle(.replenish(cause: .message("start")), now: 0)
        let expected: [(String, String, String)] = [
            ("e1", "v1", "h1"), ("e2", "v2", "h2"), ("e3", "v3", "h1"), ("e4", "v1", "h2"), ("e5", "v2", "h1"),
        ]
        #expect(
            decision.actions == expected.map { DriverAction(kind: .create, executor: $0.0, variant: $0.1, host: $0.2) })
        #expect(
            decision.transitions
                == expected.map {
                    Decision.Transition(
                        executor: $0.0, from: nil, to: .initializing, reason: "created to refill the pools",
                        cause: "start")
                })
        #expect(decision.touched == Set(expected.map(\.0)))
        #expect(decision.metaChanged)
        #expect(pool.meta.nextExecutorNumber == 6)
        #expect(pool.ids(in: .initializing) == ["e1", "e2", "e3", "e4", "e5"])
        #expect(pool.unfinishedActions == decision.actions)
        // A second replenish has nothing to do: everything is on its way.
        #expect(pool.handle(.replenish(cause: .message("again")), now: 1).isEmpty)
    }

    @Test func createSuccessGoesToStandbyAndPromotesUpToOnlineTarget() throws {
        var pool = F.pool(F.config())
        let start = pool.handle(.replenish(cause: .message("start")), now: 0)
        let first = pool.handle(.actionSucceeded(start.actions[0], endpoint: "10.0.0.1:8080"), now: 10)
        #expect(first.moves("e1") == ["initializing->standby", "standby->online"])
        #expect(first.transitions.map(\.cause) == ["driver", "driver"])
        #expect(first.actions.isEmpty)
        #expect(pool.executors["e1"]?.endpoint == "10.0.0.1:8080")
        #expect(pool.executors["e1"]?.since == 10)
        _ = pool.handle(.actionSucceeded(start.actions[1], endpoint: "10.0.0.2:8080"), now: 11)
        _ = pool.handle(.actionSucceeded(start.actions[2], endpoint: "10.0.0.3:8080"), now: 12)
        #expect(pool.ids(in: .online) == ["e1", "e2", "e3"])
        let fourth = pool.handle(.actionSucceeded(start.actions[3], endpoint: "10.0.0.4:8080"), now: 13)
        #expect(fourth.moves("e4") == ["initializing->standby"])
        #expect(fourth.transitions.count == 1)
        _ = pool.handle(.actionSucceeded(start.actions[4], endpoint: "10.0.0.5:8080"), now: 14)
        #expect(pool.ids(in: .online) == ["e1", "e2", "e3"])
        #expect(pool.ids(in: .standby) == ["e4", "e5"])
        // A late duplicate success for an executor no longer initializing changes nothing.
        #expect(pool.handle(.actionSucceeded(start.actions[0], endpoint: "1.1.1.1:1"), now: 15).isEmpty)
        #expect(pool.executors["e1"]?.endpoint == "10.0.0.1:8080")
    }

    @Test func createFailureGoesOfflineAndIsReplaced() {
        var pool = F.pool(F.config())
        let start = pool.handle(.replenish(cause: .message("start")), now: 0)
        let decision = pool.handle(.actionFailed(start.actions[0], error: "no image"), now: 5)
        #expect(decision.moves("e1") == ["initializing->offline"])
        #expect(pool.executors["e1"]?.reason == "create failed: no image")
        // Replaced on h2: h1 has a failed create, h2 none (ExecutorPool+Hosts, placeableHosts).
        #expect(decision.actions == [DriverAction(kind: .create, executor: "e6", variant: "v1", host: "h2")])
        #expect(decision.moves("e6") == ["nil->initializing"])
    }

    // MARK: - Anomalies

    /// The window rule and heterogeneity alone: with `scheduling.learning` the attacked build's
    /// standby (e5) would wait instead (LearningRuleTests).
    @Test(arguments: [(2, ExecutorState.dirty), (0, ExecutorState.cleaning)])
    func dissentsInsideWindowEject(retainDirty: Int, target: ExecutorState) throws {
        var pool = F.steady(F.config(retainDirty: retainDirty, learning: Learning(enabled: false)))
        let all = ["e1", "e2", "e3"]
        #expect(try pool.handle(F.arbitration(all, dissenters: ["e2"]), now: 1000).transitions.isEmpty)
        #expect(try pool.handle(F.arbitration(all, dissenters: ["e2"]), now: 2000).transitions.isEmpty)
        #expect(pool.executors["e2"]?.dissents == 2)
        let decision = try pool.handle(F.arbitration(all, dissenters: ["e2"], cause: "m3"), now: 3000)
        #expect(decision.moves("e2") == ["online->\(target.rawValue)"])
        // The farthest standby from e1 (v1) + e3 (v3) is e5 (v2): distance 6 against 2 for e4.
        #expect(decision.moves("e5") == ["standby->online"])
        #expect(decision.transitions.first?.cause == "m3")
        #expect(decision.transitions.first?.reason == "abnormal: 3 dissents within 60000 ms")
        #expect(pool.executors["e2"]?.state == target)
        #expect(pool.ids(in: .online) == ["e1", "e3", "e5"])
        if target == .dirty {
            #expect(decision.actions == [DriverAction(kind: .create, executor: "e6", variant: "v3", host: "h2")])
        } else {
            #expect(decision.actions == [DriverAction(kind: .clean, executor: "e2", variant: "v2", host: "h2")])
        }
    }

    /// The window rule alone: the learned feedback would eject e2 at its third dissent on /login
    /// however far apart (LearningRuleTests).
    @Test func dissentsOutsideWindowDoNotCount() throws {
        var pool = F.steady(F.config(learning: Learning(enabled: false)))
        let all = ["e1", "e2", "e3"]
        for now: Int64 in [10_000, 80_000, 150_000] {
            #expect(try pool.handle(F.arbitration(all, dissenters: ["e2"]), now: now).transitions.isEmpty)
            #expect(pool.executors["e2"]?.dissents == 1)
        }
        // Exactly `window` old no longer counts.
        for now: Int64 in [200_000, 230_000, 260_000] {
            #expect(try pool.handle(F.arbitration(all, dissenters: ["e2"]), now: now).transitions.isEmpty)
        }
        #expect(pool.executors["e2"]?.dissents == 2)
        #expect(pool.executors["e2"]?.state == .online)
        let decision = try pool.handle(F.arbitration(all, dissenters: ["e2"]), now: 261_000)
        #expect(decision.moves("e2") == ["online->dirty"])
    }

    @Test func noMajorityPenalisesNobody() throws {
        var pool = F.steady()
        let decision = try pool.handle(
            F.arbitration(["e1", "e2", "e3"], dissenters: ["e1", "e2"], url: "/login"),
            now: 100)
        #expect(decision.transitions.isEmpty)
        #expect(decision.touched.isEmpty)
        #expect(
            decision.notes == [
                .init(
                    executor: nil,
                    reason: "URL /login suspected (no majority, 2 of 3 executors "
                        + "dissented); blacklisted for 1h; executors not penalised", cause: "arb")
            ])
        #expect(decision.listChanges.map(\.url) == ["/login"], "the URL goes to the blacklist instead")
        for id in ["e1", "e2", "e3"] {
            #expect(pool.executors[id]?.confidence == 1.0)
            #expect(pool.executors[id]?.dissents == 0)
        }
    }

    @Test func healthDownEjectsAndUpDoesNothing() throws {
        var pool = F.steady()
        #expect(try pool.handle(F.health("e2", "up"), now: 100).isEmpty)
        // One degraded report only counts towards scheduling.abnormal.degraded.
        let degraded = try pool.handle(F.health("e2", "degraded"), now: 100)
        #expect(degraded.transitions.isEmpty && degraded.notes.count == 1)
        let decision = try pool.handle(F.health("e2", "down"), now: 200)
        #expect(decision.moves("e2") == ["online->dirty"])
        #expect(decision.moves("e5") == ["standby->online"])
        #expect(pool.executors["e2"]?.reason == "abnormal: reported down by the left bracket")
        let unknown = try pool.handle(F.health("e99", "down"), now: 300)
        #expect(unknown.transitions.isEmpty)
        #expect(unknown.notes.map(\.executor) == ["e99"])
    }

    @Test(arguments: ["high", "critical"])
    func severeAlertByExecutorIdEjects(severity: String) throws {
        var pool = F.steady()
        let decision = try pool.handle(F.alert(executor: "e2", severity: severity), now: 100)
        #expect(decision.moves("e2") == ["online->dirty"])
        #expect(pool.executors["e2"]?.reason == "abnormal: \(severity) alert rule 942100")
        #expect(pool.count(.online) == 3)
    }

    @Test(arguments: ["high", "critical"])
    func severeAlertByAddressEjects(severity: String) throws {
        var pool = F.steady()
        let decision = try pool.handle(F.alert(address: "10.0.0.3", severity: severity, source: .firewall), now: 100)
        #expect(decision.moves("e3") == ["online->dirty"])
        #expect(decision.transitions.filter { $0.to == .dirty }.map(\.executor) == ["e3"])
        let unknown = try pool.handle(F.alert(address: "10.9.9.9", severity: severity), now: 200)
        #expect(unknown.transitions.isEmpty)
        #expect(unknown.notes.count == 1)
    }

    /// Issue 13 finding 1: a WAF reports the upstream as `ip:port`. On a host where every
    /// executor shares the IP (published ports), `ip:port` names exactly one executor, and a bare
    /// IP names none: one alert must not empty a host.
    @Test func alertsByAddressHitOnlyTheirExecutor() throws {
        // e1, e3, e5 on 10.0.0.11; e2, e4 on 10.0.0.12; port 32767 + n.
        var pool = F.steady(endpoint: { "10.0.0.1\(2 - $0 % 2):\(32767 + $0)" })
        #expect(pool.executors["e3"]?.endpoint == "10.0.0.11:32770")
        let exact = try pool.handle(F.alert(address: "10.0.0.11:32770", severity: "critical"), now: 100)
        #expect(exact.transitions.filter { $0.to == .dirty || $0.to == .cleaning }.map(\.executor) == ["e3"])

        let bare = try pool.handle(F.alert(address: "10.0.0.12", severity: "critical"), now: 200)
        #expect(bare.transitions.isEmpty, "e2 and e4 share 10.0.0.12: nobody is ejected")
        #expect(
            bare.notes.map(\.reason) == [
                "alert on address 10.0.0.12 is ambiguous: executors e2, e4 have it; nobody ejected "
                    + "(report ip:port or the executor id)"
            ])
        let unknownPort = try pool.handle(F.alert(address: "10.0.0.12:1", severity: "critical"), now: 300)
        #expect(unknownPort.transitions.isEmpty)
        #expect(unknownPort.notes.map(\.reason) == ["alert names no known executor (10.0.0.12:1)"])

        // A bare IP with one executor on it still names that executor.
        var spread = F.steady()
        let single = try spread.handle(F.alert(address: "10.0.0.2", severity: "high"), now: 100)
        #expect(single.moves("e2") == ["online->dirty"])
        // IPv6 endpoints in brackets, named with or without a port.
        var six = F.steady(endpoint: { "[fd00::\($0)]:8080" })
        let v6 = try six.handle(F.alert(address: "[fd00::2]:8080", severity: "high"), now: 100)
        #expect(v6.moves("e2") == ["online->dirty"])
        let v6Bare = try six.handle(F.alert(address: "fd00::1", severity: "high"), now: 200)
        #expect(v6Bare.moves("e1") == ["online->dirty"])
    }

    @Test(arguments: ["low", "medium"])
    func mildAlertOnlyNotes(severity: String) throws {
        var pool = F.steady()
        let byId = try pool.handle(F.alert(executor: "e2", severity: severity), now: 100)
        let byAddress = try pool.handle(F.alert(address: "10.0.0.2", severity: severity), now: 101)
        // Each counts towards scheduling.abnormal.low_severity (default 5).
        for (count, decision) in [(1, byId), (2, byAddress)] {
            #expect(decision.transitions.isEmpty)
            #expect(
                decision.notes == [
                    .init(
                        executor: "e2",
                        reason: "\(severity) alert rule 942100 recorded "
                            + "(\(count) of 5 within 60000 ms)", cause: "alert")
                ])
        }
        #expect(pool.executors["e2"]?.state == .online)
        #expect(pool.executors["e2"]?.flagged == false)
    }

    @Test func minOnlineGuardFlagsThenReplacesWhenStandbyAppears() throws {
        var pool = F.pool(F.config(online: 2, standby: 1, minOnline: 2))
        let start = pool.handle(.replenish(cause: .message("start")), now: 0)
        #expect(start.actions.map(\.executor) == ["e1", "e2", "e3"])
        _ = pool.handle(.actionSucceeded(start.actions[0], endpoint: "10.0.0.1:80"), now: 1)
        _ = pool.handle(.actionSucceeded(start.actions[1], endpoint: "10.0.0.2:80"), now: 2)
        #expect(pool.ids(in: .online) == ["e1", "e2"])
        #expect(pool.count(.standby) == 0)

        let guarded = try pool.handle(F.health("e1", "down"), now: 10)
        #expect(guarded.transitions.isEmpty)
        #expect(guarded.notes.count == 1)
        #expect(guarded.notes.first?.executor == "e1")
        #expect(guarded.notes.first?.reason.contains("below min_online=2") == true)
        #expect(pool.executors["e1"]?.state == .online)
        #expect(pool.executors["e1"]?.flagged == true)

        let replaced = pool.handle(.actionSucceeded(start.actions[2], endpoint: "10.0.0.3:80"), now: 20)
        #expect(replaced.moves("e3") == ["initializing->standby", "standby->online"])
        #expect(replaced.moves("e1") == ["online->dirty"])
        #expect(pool.executors["e1"]?.flagged == false)
        #expect(pool.executors["e1"]?.reason == "abnormal: reported down by the left bracket")
        #expect(pool.ids(in: .online) == ["e2", "e3"])
        #expect(replaced.actions.map(\.executor) == ["e4"])
    }

    @Test func retainDirtyOverflowReleasesOldest() throws {
        var pool = F.steady(F.config(retainDirty: 1))
        _ = try pool.handle(F.health("e2", "down"), now: 1000)
        #expect(pool.ids(in: .dirty) == ["e2"])
        let decision = try pool.handle(F.health("e1", "down"), now: 2000)
        #expect(decision.moves("e1") == ["online->dirty"])
        #expect(decision.moves("e2") == ["dirty->cleaning"])
        #expect(decision.actions == [DriverAction(kind: .clean, executor: "e2", variant: "v2", host: "h2")])
        #expect(pool.ids(in: .dirty) == ["e1"])
        #expect(pool.executors["e2"]?.reason == "released from dirty: more than retain_dirty=1 kept")
        #expect(pool.count(.online) == 3)
    }

    // MARK: - Operator control

    @Test func setStateStandbyToOnlineRotatesLongestOnlineOut() throws {
        var pool = F.steady()
        let decision = try pool.handle(F.setState("e4", "online"), now: 100)
        #expect(
            decision.transitions.map { "\($0.executor):\($0.from!.rawValue)->\($0.to!.rawValue)" }
                == ["e1:online->cleaning", "e4:standby->online"])
        #expect(decision.actions == [DriverAction(kind: .clean, executor: "e1", variant: "v1", host: "h1")])
        #expect(pool.executors["e4"]?.reason == "operator: set_state online")
        #expect(pool.ids(in: .online) == ["e2", "e3", "e4"])
    }

    @Test func setStateOnlineToOfflineIsReplaced() throws {
        var pool = F.steady()
        let decision = try pool.handle(F.setState("e2", "offline"), now: 100)
        #expect(decision.moves("e2") == ["online->offline"])
        #expect(decision.moves("e5") == ["standby->online"])
        #expect(decision.actions.map(\.kind) == [.create])
        #expect(pool.ids(in: .online) == ["e1", "e3", "e5"])
    }

    @Test func setStateDirtyToCleaning() throws {
        var pool = F.steady()
        _ = try pool.handle(F.health("e2", "down"), now: 100)
        let decision = try pool.handle(F.setState("e2", "cleaning"), now: 200)
        #expect(decision.moves("e2") == ["dirty->cleaning"])
        #expect(decision.actions.contains(DriverAction(kind: .clean, executor: "e2", variant: "v2", host: "h2")))
    }

    @Test func illegalSetStateOnlyNotes() throws {
        var pool = F.steady()
        _ = try pool.handle(F.setState("e2", "offline"), now: 100)
        let decision = try pool.handle(F.setState("e2", "online"), now: 200)
        #expect(decision.transitions.isEmpty)
        #expect(
            decision.notes == [
                .init(
                    executor: "e2",
                    reason: "set_state refused: offline -> online is not allowed (from offline: cleaning)",
                    cause: "admin")
            ])
        #expect(pool.executors["e2"]?.state == .offline)
        let unknown = try pool.handle(F.setState("e42", "offline"), now: 300)
        #expect(unknown.notes.map(\.reason) == ["set_state refused: unknown executor"])
    }

    @Test func rotatePicksLongestOnline() throws {
        var pool = F.steady()
        let decision = try pool.handle(F.admin(.rotate), now: 100)
        #expect(decision.moves("e1") == ["online->cleaning"])
        // Online e2 (v2) + e3 (v3): e4 (v1) is at distance 5, e5 (v2) at 3.
        #expect(decision.moves("e4") == ["standby->online"])
        #expect(decision.actions == [DriverAction(kind: .clean, executor: "e1", variant: "v1", host: "h1")])
        #expect(pool.executors["e1"]?.reason == "rotation requested by operator")
        // The next rotation takes the next longest online.
        let next = try pool.handle(F.admin(.rotate), now: 200)
        #expect(next.moves("e2") == ["online->cleaning"])
    }

    @Test func rotateSkippedWithoutStandby() throws {
        var pool = F.steady(F.config(standby: 0))
        #expect(pool.ids(in: .online) == ["e1", "e2", "e3"])
        let decision = try pool.handle(F.admin(.rotate), now: 100)
        #expect(decision.transitions.isEmpty)
        #expect(decision.notes == [.init(executor: "e1", reason: "rotation skipped: no standby ready", cause: "admin")])
    }

    @Test func pauseFlagsOnlyAndResumeReplaces() throws {
        var pool = F.steady()
        let paused = try pool.handle(F.admin(.pause), now: 100)
        #expect(paused.metaChanged)
        #expect(pool.meta.paused)
        #expect(paused.notes.map(\.reason) == ["automatic scheduling paused"])

        let down = try pool.handle(F.health("e2", "down"), now: 200)
        let alert = try pool.handle(F.alert(executor: "e3", severity: "critical"), now: 300)
        for decision in [down, alert] {
            #expect(decision.transitions.isEmpty)
            #expect(decision.notes.first?.reason.contains("scheduling is paused") == true)
        }
        #expect(pool.executors["e2"]?.flagged == true)
        #expect(pool.executors["e3"]?.flagged == true)
        #expect(pool.ids(in: .online) == ["e1", "e2", "e3"])

        let resumed = try pool.handle(F.admin(.resume), now: 400)
        #expect(!pool.meta.paused)
        #expect(resumed.moves("e2") == ["online->dirty"])
        #expect(resumed.moves("e3") == ["online->dirty"])
        #expect(resumed.moves("e4") == ["standby->online"])
        #expect(resumed.moves("e5") == ["standby->online"])
        #expect(resumed.actions.map(\.executor) == ["e6", "e7"])
        #expect(pool.ids(in: .online) == ["e1", "e4", "e5"])
        #expect(pool.executors.values.allSatisfy { !$0.flagged })
    }

    // MARK: - Driver results

    @Test func cleanSuccessRestoresToStandbyAndResetsConfidence() throws {
        var pool = F.steady()
        _ = try pool.handle(F.arbitration(["e1", "e2", "e3"], dissenters: ["e1"]), now: 100)
        #expect(abs(pool.executors["e1"]!.confidence - 0.85) < 1e-9)
        #expect(pool.executors["e1"]?.dissents == 1)
        _ = try pool.handle(F.admin(.rotate), now: 200)
        #expect(pool.executors["e1"]?.state == .cleaning)
        #expect(pool.unfinishedActions == [DriverAction(kind: .clean, executor: "e1", variant: "v1", host: "h1")])
        let decision = pool.handle(.actionSucceeded(F.action(.clean, pool, "e1"), endpoint: "10.0.0.99:9000"), now: 300)
        #expect(decision.moves("e1") == ["cleaning->initializing", "initializing->standby"])
        let e1 = try #require(pool.executors["e1"])
        #expect(e1.state == .standby)
        #expect(e1.confidence == 1.0)
        #expect(e1.dissents == 0)
        #expect(e1.endpoint == "10.0.0.99:9000")
        #expect(e1.since == 300)
        #expect(pool.unfinishedActions.isEmpty)
    }

    @Test func cleanFailureGoesOffline() throws {
        var pool = F.steady()
        _ = try pool.handle(F.admin(.rotate), now: 100)
        let decision = pool.handle(.actionFailed(F.action(.clean, pool, "e1"), error: "disk full"), now: 200)
        #expect(decision.moves("e1") == ["cleaning->offline"])
    }

    @Test func removeSuccessPurges() throws {
        var pool = F.steady()
        _ = try pool.handle(F.setState("e2", "offline"), now: 100)
        let decision = pool.handle(.actionSucceeded(F.action(.remove, pool, "e2"), endpoint: nil), now: 200)
        #expect(
            decision.transitions == [
                .init(
                    executor: "e2", from: .offline, to: nil, reason: "removed from h2",
                    cause: "driver")
            ])
        #expect(decision.touched.contains("e2"))
        #expect(pool.executors["e2"] == nil)
        let failed = pool.handle(
            .actionFailed(
                DriverAction(kind: .remove, executor: "e3", variant: "v3", host: "h1"),
                error: "busy"), now: 300)
        #expect(failed.notes.map(\.reason) == ["remove failed: busy"])
        #expect(pool.executors["e3"]?.state == .online)
    }

    // MARK: - Confidence and publication

    @Test func confidenceFallsOnDissentAndRecoversOnAgreement() throws {
        var pool = F.steady(F.config(dissents: 1000))
        let all = ["e1", "e2", "e3"]
        _ = try pool.handle(F.arbitration(all, dissenters: ["e1"]), now: 100)
        #expect(abs(pool.executors["e1"]!.confidence - 0.85) < 1e-9)
        #expect(pool.executors["e2"]?.confidence == 1.0)
        let agreed = try pool.handle(F.arbitration(all, dissenters: []), now: 200)
        #expect(agreed.touched == ["e1"])
        #expect(abs(pool.executors["e1"]!.confidence - (0.85 + 0.15 * 0.05 + 0.001)) < 1e-9)
        for step in 0..<200 { _ = try pool.handle(F.arbitration(all, dissenters: []), now: 300 + Int64(step)) }
        #expect(pool.executors["e1"]?.confidence == 1.0)
        // Distinct URLs: two variants dissenting on one URL would make the URL suspect, not e2.
        for step in 0..<60 {
            _ = try pool.handle(F.arbitration(all, dissenters: ["e2"], url: "/p\(step)"), now: 1000 + Int64(step))
        }
        #expect(pool.executors["e2"]?.confidence == 0.05)
        #expect(pool.executors["e2"]?.state == .online)
    }

    @Test func onlinePublicationOnlyOnRealChange() throws {
        var pool = F.steady(F.config(dissents: 1000))
        let firstMaybe = pool.onlinePublication(app: "shop")
        let first = try #require(firstMaybe)
        #expect(first.app == "shop")
        #expect(first.version == 1)
        #expect(
            first.online == [
                .init(id: "e1", endpoint: "10.0.0.1:8080", variant: "v1", weight: 1.0),
                .init(id: "e2", endpoint: "10.0.0.2:8080", variant: "v2", weight: 1.0),
                .init(id: "e3", endpoint: "10.0.0.3:8080", variant: "v3", weight: 1.0),
            ])
        #expect(pool.publishAgain() == nil)

        let all = ["e1", "e2", "e3"]
        _ = try pool.handle(F.arbitration(all, dissenters: ["e1"]), now: 100)
        let secondMaybe = pool.onlinePublication(app: "shop")
        let second = try #require(secondMaybe)
        #expect(second.version == 2)
        #expect(second.online.first { $0.id == "e1" }?.weight == 0.85)

        // Small recoveries are not worth a version until they add up past 0.05.
        var versions = [second.version]
        var steps = 0
        while steps < 50 {
            _ = try pool.handle(F.arbitration(all, dissenters: []), now: 200 + Int64(steps))
            steps += 1
            if let view = pool.onlinePublication(app: "shop") {
                versions.append(view.version)
                break
            }
        }
        #expect(steps > 1)
        #expect(versions == [2, 3])
        #expect(pool.executors["e1"]!.confidence - 0.85 > 0.05)

        _ = try pool.handle(F.admin(.rotate), now: 1000)
        let rotatedMaybe = pool.onlinePublication(app: "shop")
        let rotated = try #require(rotatedMaybe)
        #expect(rotated.version == 4)
        #expect(rotated.online.map(\.id) == ["e2", "e3", "e4"])
        #expect(pool.meta.onlineVersion == 4)
        #expect(pool.publishAgain() == nil)
    }

    // MARK: - Invariants under a random event stream

    @Test(arguments: [UInt64(1), 7, 2024])
    func invariantsHoldOverRandomSequence(seed: UInt64) throws {
        var random = SchedulerRandom(seed: seed)
        let config = F.config(online: 3, standby: 2, minOnline: 2, retainDirty: 2, dissents: 2)
        var pool = F.pool(config, seed: seed)
        var known: [String: ExecutorState] = [:]
        var everSeen: Set<String> = []
        var pending: [DriverAction] = []
        let severities = ["low", "medium", "high", "critical"]
        let targets = ["online", "offline", "standby", "cleaning"]

        func check(_ decision: Decision, step: Int) {
            for transition in decision.transitions {
                if transition.from == nil {
                    #expect(!everSeen.contains(transition.executor), "id \(transition.executor) reused at step \(step)")
                    everSeen.insert(transition.executor)
                } else {
                    #expect(
                        known[transition.executor] == transition.from,
                        "step \(step): \(transition.executor) moved from \(String(describing: transition.from)) but was \(String(describing: known[transition.executor]))"
                    )
                }
                if let from = transition.from, let to = transition.to {
                    #expect(from.canMove(to: to), "step \(step): illegal \(from) -> \(to)")
                }
                known[transition.executor] = transition.to
            }
            pending += decision.actions
            // Each executor in exactly one state: the replayed transitions agree with the pool.
            #expect(known == pool.executors.mapValues(\.state), "step \(step)")
            let perState = ExecutorState.allCases.map { pool.ids(in: $0) }
            #expect(perState.reduce(0) { $0 + $1.count } == pool.executors.count)
            #expect(Set(perState.joined()).count == pool.executors.count)
            if pool.count(.standby) > 0 {
                #expect(pool.count(.online) == config.replicas.online, "step \(step)")
            }
            #expect(pool.count(.online) <= config.replicas.online)
        }

        check(pool.handle(.replenish(cause: .message("start")), now: 0), step: 0)
        var now: Int64 = 0
        for step in 1...400 {
            now += Int64.random(in: 1...5000, using: &random)
            let online = pool.ids(in: .online)
            let anyId = pool.executors.keys.sorted().randomElement(using: &random) ?? "e1"
            let event: SchedulerEvent
            switch Int.random(in: 0..<10, using: &random) {
            case 0...2 where !pending.isEmpty:
                let action = pending.remove(at: Int.random(in: 0..<pending.count, using: &random))
                if Int.random(in: 0..<6, using: &random) == 0 {
                    event = .actionFailed(action, error: "boom")
                } else {
                    event = .actionSucceeded(action, endpoint: "10.1.0.\(action.executor.dropFirst()):80")
                }
            case 3 where online.count >= 2:
                let dissenter = online.randomElement(using: &random)!
                event = try F.arbitration(online, dissenters: Bool.random(using: &random) ? [dissenter] : [])
            case 4:
                event = try F.health(anyId, Bool.random(using: &random) ? "down" : "up")
            case 5:
                event = try F.alert(executor: anyId, severity: severities.randomElement(using: &random)!)
            case 6:
                event = try F.setState(anyId, targets.randomElement(using: &random)!)
            case 7:
                event = try F.admin(.rotate)
            case 8:
                event = try F.admin(Int.random(in: 0..<4, using: &random) == 0 ? .pause : .resume)
            default:
                event = .replenish(cause: .message("tick"))
            }
            check(pool.handle(event, now: now), step: step)
            _ = pool.onlinePublication(app: "shop")
        }
        #expect(everSeen.count >= 5)
    }
}
