import Foundation
import Shared
import Testing

@testable import AppWorker
@testable import Scheduling

/// The host rules of the pool (ExecutorPool+Hosts.swift) as a pure state machine.
@Suite struct HostRulesTests {
    static func down(_ host: String) -> SchedulerEvent {
        .host(HostReport(host: host, up: false, failures: 3, detail: "connect refused"))
    }

    static func up(_ host: String) -> SchedulerEvent {
        .host(HostReport(host: host, up: true, failures: 0, detail: "ok"))
    }

    static func on(_ pool: ExecutorPool, _ host: String, _ state: ExecutorState) -> [String] {
        pool.executors.values.filter { $0.host == host && $0.state == state }.map(\.id).sorted()
    }

    @Test func hostDownPurgesStandbyAndInitializingAndReplacesItsOnlineExecutorsInOneDecision() {
        var pool = Fixtures.steady()
        // One executor on its way on h1 too.
        _ = pool.handle(.message(.rotate, cause: "rot"), now: 100)
        let onlineOnH1 = Self.on(pool, "h1", .online)
        let standbyOnH1 = Self.on(pool, "h1", .standby) + Self.on(pool, "h1", .initializing)
        #expect(!onlineOnH1.isEmpty)

        let decision = pool.handle(Self.down("h1"), now: 200)
        #expect(!pool.healthyHosts.contains("h1"))
        for id in standbyOnH1 {
            #expect(pool.executors[id] == nil, "\(id) purged")
            #expect(
                decision.transitions.contains {
                    $0.executor == id && $0.to == nil && $0.reason.hasPrefix("purged: host h1 down")
                })
        }
        for id in onlineOnH1 {
            #expect(pool.executors[id]?.state == .offline)
            #expect(decision.moves(id) == ["online->offline"])
        }
        #expect(decision.transitions.filter { $0.to == .offline }.allSatisfy { $0.cause == "host:h1" })
        // Replacements: everything live or on its way is on h2 now.
        #expect(
            pool.executors.values.filter { $0.state != .offline && $0.state != .dirty }.allSatisfy { $0.host == "h2" })
        #expect(decision.actions.filter { $0.kind == .create }.allSatisfy { $0.host == "h2" })
        #expect(
            decision.hostChanges == [
                HostChange(
                    report: HostReport(
                        host: "h1", up: false, failures: 3,
                        detail: "connect refused"), changed: true)
            ])
        let online = pool.count(.online)
        let standby = pool.count(.standby)
        #expect(online + standby + pool.count(.initializing) + pool.count(.cleaning) >= 5)
    }

    @Test func aReportThatConfirmsTheKnownStateChangesNothingButIsRecorded() {
        var pool = Fixtures.steady()
        let decision = pool.handle(Self.up("h1"), now: 10)
        #expect(decision.transitions.isEmpty && decision.actions.isEmpty && decision.listHosts.isEmpty)
        #expect(decision.hostChanges.first?.changed == false)
    }

    @Test func hostUpRemovesItsOfflineExecutorsThroughTheDriverAndSpreadsStandbysAgain() {
        var pool = Fixtures.steady()
        #expect(pool.handle(Self.down("h1"), now: 100).listHosts.isEmpty, "a down host cannot be listed")
        // Let the replacements come up on h2.
        var now: Int64 = 100
        while let executor = pool.executors.values.first(where: { $0.state == .initializing }) {
            now += 1
            _ = pool.handle(
                .actionSucceeded(Fixtures.action(.create, pool, executor.id), endpoint: "10.0.0.99:1"), now: now)
        }
        let offline = Self.on(pool, "h1", .offline)
        #expect(!offline.isEmpty)
        #expect(Self.on(pool, "h1", .standby).isEmpty)

        let decision = pool.handle(Self.up("h1"), now: 500)
        #expect(pool.healthyHosts.contains("h1"))
        #expect(decision.listHosts == ["h1"], "listed at once: its purged standbys still run there")
        let removals = decision.actions.filter { $0.kind == .remove && $0.host == "h1" }.map(\.executor).sorted()
        #expect(removals == offline)
        #expect(decision.actions.contains { $0.kind == .create && $0.host == "h1" }, "a standby moves back to h1")
        #expect(decision.transitions.contains { $0.from == .standby && $0.to == nil && $0.reason.contains("spread") })

        // The driver confirms a removal: the executor is gone, with its event.
        let done = pool.handle(.actionSucceeded(Fixtures.action(.remove, pool, offline[0]), endpoint: nil), now: 600)
        #expect(pool.executors[offline[0]] == nil)
        #expect(done.moves(offline[0]) == ["offline->nil"])
    }

    @Test func noExecutorIsCreatedOnADownHost() {
        var pool = Fixtures.steady(Fixtures.config(hosts: ["h1", "h2"]))
        _ = pool.handle(Self.down("h2"), now: 10)
        for step in 0..<5 {
            let decision = pool.handle(.message(.rotate, cause: "rot-\(step)"), now: 20 + Int64(step))
            #expect(decision.actions.filter { $0.kind == .create }.allSatisfy { $0.host == "h1" })
        }
        var stallNotes = pool.handle(Self.down("h1"), now: 50).notes
        // Said once per stall, not once per message: otherwise every message while the hosts are
        // down would carry a second event with its cause.
        for step in 0..<4 {
            stallNotes += pool.handle(.replenish(cause: .message("test-\(step)")), now: 60 + Int64(step)).notes
        }
        #expect(stallNotes.filter { $0.reason == "cannot create executors: no healthy host" }.count == 1)
    }

    @Test func onlineCheckRemovesOrphansAndReplacesMissingExecutors() {
        var pool = Fixtures.steady()
        let online = pool.ids(in: .online)
        let standby = pool.ids(in: .standby)
        let missingOnline = online[0]
        let missingStandby = standby[0]
        let host = pool.executors[missingOnline]!.host
        var listed: [String: [String]] = ["h1": [], "h2": []]
        for executor in pool.executors.values where ![missingOnline, missingStandby].contains(executor.id) {
            listed[executor.host, default: []].append(executor.id)
        }
        listed[host]!.append("e77")
        // A live executor's id listed on the wrong host is a stray copy there, not the executor.
        let other = host == "h1" ? "h2" : "h1"
        let elsewhere = pool.executors.values.first {
            $0.host == host && $0.id != missingOnline && $0.id != missingStandby
        }!.id
        listed[other]!.append(elsewhere)

        let decision = pool.handle(
            .onlineCheck(OnlineCheckReport(listed: listed, failed: [:], startedAt: 1000)), now: 1001)
        let removals = decision.actions.filter { $0.kind == .remove }
        #expect(Set(removals.map { "\($0.executor)@\($0.host)" }) == ["e77@\(host)", "\(elsewhere)@\(other)"])
        #expect(decision.notes.contains { $0.executor == "e77" && $0.reason.contains("not recorded; removing it") })
        #expect(decision.moves(missingOnline).first == "online->cleaning")
        #expect(decision.moves(missingStandby).first == "standby->cleaning")
        #expect(
            decision.transitions.contains { $0.executor == missingOnline && $0.reason.contains("not running on host") })
        #expect(pool.count(.online) == 3, "a standby replaced the missing online executor")

        // Removing the stray copy must not delete the live executor of that id.
        _ = pool.handle(
            .actionSucceeded(
                DriverAction(kind: .remove, executor: elsewhere, variant: "", host: other),
                endpoint: nil), now: 1100)
        #expect(pool.executors[elsewhere] != nil)
    }

    @Test func aListedButStoppedOnlineExecutorIsReplacedAndAStoppedOrphanRemoved() {
        var pool = Fixtures.steady()
        let stopped = pool.ids(in: .online)[0]
        let running = pool.ids(in: .online).filter { $0 != stopped }
        let host = pool.executors[stopped]!.host
        var listed: [String: [String]] = ["h1": [], "h2": []]
        for executor in pool.executors.values { listed[executor.host, default: []].append(executor.id) }
        listed[host]!.append("e78")
        // Its container exists (killed behind the worker's back), so it is listed, but it does not run.
        let decision = pool.handle(
            .onlineCheck(
                OnlineCheckReport(listed: listed, failed: [:], startedAt: 1000, stopped: [host: [stopped, "e78"]])),
            now: 1001)
        #expect(decision.moves(stopped).first == "online->cleaning")
        #expect(decision.actions.contains { $0.kind == .remove && $0.executor == "e78" && $0.host == host })
        #expect(pool.count(.online) == 3, "a standby replaced it")
        #expect(running.allSatisfy { decision.moves($0).isEmpty }, "the running ones stay")
    }

    @Test func onlineCheckLeavesRecentChangesAndFailedListsAlone() {
        var pool = Fixtures.steady()
        let decision = pool.handle(
            .onlineCheck(
                OnlineCheckReport(
                    listed: ["h1": [], "h2": []], failed: ["h3": "boom"],
                    startedAt: 0)), now: 10)
        #expect(decision.transitions.isEmpty, "every executor changed after the lists were taken")
        #expect(decision.notes.contains { $0.reason == "online check: cannot list executors on host h3: boom" })
    }

    @Test func aHostWhoseCreatesFailStopsReceivingExecutorsAndAllFailingPausesTheChurn() {
        var pool = Fixtures.pool(Fixtures.config())
        var decision = pool.handle(.replenish(cause: .message("start")), now: 0)
        let firstOnH1 = decision.actions.filter { $0.host == "h1" }.count
        var now: Int64 = 0
        // Every create on h1 fails, every create on h2 succeeds.
        for _ in 0..<20 {
            guard let create = decision.actions.first(where: { $0.kind == .create }) else { break }
            now += 1
            decision.actions.removeAll { $0 == create }
            let next =
                create.host == "h1"
                ? pool.handle(.actionFailed(create, error: "boom"), now: now)
                : pool.handle(.actionSucceeded(create, endpoint: "10.0.0.1:80"), now: now)
            decision.merge(next)
        }
        #expect(pool.count(.online) == 3 && pool.count(.standby) == 2)
        #expect(pool.executors.values.filter { $0.state != .offline }.allSatisfy { $0.host == "h2" })
        #expect(pool.count(.offline) == firstOnH1, "after the first failure no create went to h1 again")

        // Both hosts failing: a failure does not start the next create at once.
        var broken = Fixtures.pool(Fixtures.config(hosts: ["h1"]))
        var pending = broken.handle(.replenish(cause: .message("start")), now: 0).actions
        var failures = 0
        while let create = pending.first, failures < 50 {
            pending.removeFirst()
            failures += 1
            pending += broken.handle(.actionFailed(create, error: "boom"), now: Int64(failures)).actions
        }
        #expect(failures < 10, "the churn stops after \(Self.failing) failures in a row")
        let retry = broken.handle(.onlineCheck(OnlineCheckReport(listed: [:], failed: [:], startedAt: 100)), now: 101)
        #expect(!retry.actions.filter { $0.kind == .create }.isEmpty, "the online check tries again")
    }

    static let failing = ExecutorPool.failingCreates

    @Test func probeCounterFollowsFallAndRise() {
        var counter = ProbeCounter(host: "h1", fall: 3, rise: 2)
        #expect(counter.record(.success("ok")) == nil)
        #expect(counter.record(.success("ok"))?.up == true)
        #expect(counter.record(.failure("x")) == nil)
        #expect(counter.record(.failure("x")) == nil)
        #expect(counter.record(.success("ok")) == nil, "a success resets the failures")
        #expect(counter.record(.failure("x")) == nil)
        #expect(counter.record(.failure("x")) == nil)
        let down = counter.record(.failure("refused"))
        #expect(down == HostReport(host: "h1", up: false, failures: 3, detail: "refused"))
        #expect(counter.record(.failure("x")) == nil, "reported once per change")
        #expect(counter.record(.success("ok")) == nil)
        #expect(counter.record(.success("ok"))?.up == true)
    }
}
