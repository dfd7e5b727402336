import PropertyBased
import Testing

@testable import AppWorker
@testable import Scheduling
@testable import Shared

/// Random message sequences against the pure pool (x-sheep/swift-property-based): every integer
/// of the input is one step (its remainder picks the kind of event, the rest its arguments), so
/// failing sequences shrink to short ones. After every step the invariants of DESIGN section 7
/// must hold.
@Suite struct PolicyPropertyTests {
    typealias F = PolicyFixtures

    /// The state sets as Redis would hold them after applying every transition of the decisions.
    struct StateSets {
        var members: [ExecutorState: Set<String>] = [:]

        mutating func apply(_ decision: Decision) {
            for transition in decision.transitions {
                if let from = transition.from {
                    #expect(
                        members[from, default: []].contains(transition.executor),
                        "\(transition.executor) left \(from.rawValue) without being in it")
                    members[from, default: []].remove(transition.executor)
                } else {
                    #expect(
                        !members.values.contains { $0.contains(transition.executor) },
                        "\(transition.executor) created while already in a state")
                }
                if let to = transition.to { members[to, default: []].insert(transition.executor) }
            }
        }
    }

    struct Run {
        var pool: ExecutorPool
        var sets = StateSets()
        var pending: [DriverAction] = []
        var now: Int64 = 1_000
        var lastVersion = 0
        let config: AppConfig

        init(config: AppConfig) {
            self.config = config
            pool = ExecutorPool(settings: .init(config: config), seed: 5)
            record(pool.handle(.replenish(cause: .message("start")), now: now))
        }

        mutating func record(_ decision: Decision) {
            sets.apply(decision)
            pending += decision.actions
        }

        func executor(_ pick: Int, in states: [ExecutorState]? = nil) -> String? {
            let ids = pool.executors.values.filter { states?.contains($0.state) ?? true }.map(\.id).sorted()
            return ids.isEmpty ? nil : ids[pick % ids.count]
        }

        /// Applies one step and reports whether it was an anomaly (as opposed to an operator or
        /// driver event, which may legitimately take online below min_online).
        mutating func step(_ value: Int) -> Bool {
            now += Int64(value % 7_000)
            let kind = value % 15
            let arg = value / 15
            let online = pool.ids(in: .online)
            var event: SchedulerEvent?
            var anomaly = false
            switch kind {
            case 0:
                event = F.arbitration(online, dissenters: [], url: "/u\(arg % 4)")
            case 1:
                if let id = executor(arg, in: [.online]) {
                    event = F.arbitration(online, dissenters: [id], url: "/u\(arg % 4)")
                    anomaly = true
                }
            case 2:
                event = F.arbitration(
                    online, dissenters: Array(online.prefix((online.count + 1) / 2)), url: "/u\(arg % 4)")
                anomaly = true
            case 3:
                if let id = executor(arg) {
                    event = F.health(id, .down)
                    anomaly = true
                }
            case 4:
                if let id = executor(arg) {
                    event = F.health(id, .degraded)
                    anomaly = true
                }
            case 5:
                if let id = executor(arg) {
                    event = F.alert(id, arg % 2 == 0 ? .high : .critical)
                    anomaly = true
                }
            case 6:
                if let id = executor(arg) {
                    event = F.alert(id, arg % 2 == 0 ? .low : .medium)
                    anomaly = true
                }
            case 7:
                if let id = executor(arg) {
                    let targets: [SetStateRequest.Target] = [.online, .offline, .standby, .cleaning]
                    event = .message(
                        .setState(SetStateRequest(executor: id, state: targets[(arg / 7) % 4], reason: nil)),
                        cause: "ops")
                }
            case 8:
                event = .message(.rotate, cause: "ops")
            case 9:
                event = .message(pool.meta.paused ? .resume : .pause, cause: "ops")
            case 10:
                event = .rotationDue
            case 11:
                now += 120_000
                event = .housekeeping
            case 12, 13:
                if !pending.isEmpty {
                    let action = pending.remove(at: arg % pending.count)
                    event =
                        kind == 12
                        ? .actionSucceeded(action, endpoint: "127.0.0.1:\(9000 + arg % 100)")
                        : .actionFailed(action, error: "simulated")
                }
            default:
                event = F.list(
                    arg % 2 == 0 ? .blacklist : .whitelist, arg % 3 == 0 ? .remove : .add, "/u\(arg % 4)",
                    ttl: .seconds(Int64(arg % 5)))
            }
            if let event { record(pool.handle(event, now: now)) }
            return anomaly
        }

        mutating func checkInvariants(onlineBefore: Int, anomaly: Bool) {
            // Each executor is in exactly one state set, the one its hash names.
            for (id, executor) in pool.executors {
                let holding = sets.members.filter { $0.value.contains(id) }.map(\.key)
                #expect(holding == [executor.state], "\(id) is in \(holding), hash says \(executor.state)")
            }
            #expect(sets.members.values.reduce(0) { $0 + $1.count } == pool.executors.count)
            if pool.count(.standby) > 0 {
                #expect(pool.count(.online) == config.replicas.online, "a standby exists but online is not full")
            }
            if anomaly, onlineBefore >= config.replicas.minOnline {
                #expect(pool.count(.online) >= config.replicas.minOnline, "an anomaly took online below min_online")
            }
            if let view = pool.onlinePublication(app: "shop") {
                #expect(view.version > lastVersion)
                lastVersion = view.version
            }
        }
    }

    static func config(_ shape: Int) -> AppConfig {
        let online = 1 + shape % 4
        let standby = (shape / 4) % 4
        let minOnline = 1 + (shape / 16) % online
        let retainDirty = (shape / 64) % 3
        return F.config(
            online: online, standby: standby, minOnline: minOnline, retainDirty: retainDirty,
            dirtyTTL: .seconds(Int64((shape / 192) % 3) * 60),
            scheduling: Scheduling(
                abnormalDissents: 2, abnormalWindow: .seconds(30), seed: 5,
                abnormalDegraded: 2, abnormalLowSeverity: 2))
    }

    /// List requests, suspicions and housekeeping ticks in random order: the Redis commands the
    /// commit writes keep the list sets and expiry sorted sets equal to the pool's lists, and no
    /// entry outlives a housekeeping tick after its expiry.
    @Test func storedListsMirrorThePoolAndExpireOnTime() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...1_000_000).array(of: 1...120)) { steps in
            var pool = F.filledPool(F.config(lists: Lists(blacklist: ["/admin/*"])))
            let keys = RedisKeys(app: "shop")
            var sets: [String: Set<String>] = [:]
            var sorted: [String: [String: Int64]] = [:]
            func store(_ decision: Decision, now: Int64) {
                var batch = CommitBatch(keys: keys)
                batch.record(decision, now: now)
                for command in batch.commands {
                    switch command[0] {
                    case "SADD" where command[1].contains(":list:"): sets[command[1], default: []].insert(command[2])
                    case "SREM" where command[1].contains(":list:"): sets[command[1], default: []].remove(command[2])
                    case "ZADD": sorted[command[1], default: [:]][command[3]] = Int64(command[2])
                    case "ZREM": sorted[command[1], default: [:]][command[2]] = nil
                    default: break
                    }
                }
            }
            var now: Int64 = 2_000
            store(pool.seedConfiguredLists(now: now), now: now)
            let online = pool.ids(in: .online)
            for value in steps {
                now += Int64(value % 3_000)
                let url = "/u\(value % 5)"
                let decision: Decision
                switch value % 4 {
                case 0: decision = pool.handle(.housekeeping, now: now)
                case 1:
                    decision = pool.handle(
                        F.arbitration(online, dissenters: Array(online.prefix(2)), url: url), now: now)
                default:
                    decision = pool.handle(
                        F.list(
                            value % 3 == 0 ? .whitelist : .blacklist, value % 7 == 0 ? .remove : .add,
                            url, ttl: .milliseconds(Int64(value % 4) * 1_500)), now: now)
                }
                store(decision, now: now)
                if value % 4 == 0 {
                    #expect(pool.policy.lists.expired(now: now).isEmpty, "an expired entry survived housekeeping")
                }
                for list in [ListChange.List.blacklist, .whitelist] {
                    let book = pool.policy.lists.entries[list] ?? [:]
                    #expect(sets[keys.list(list.rawValue), default: []] == Set(book.keys))
                    #expect(sorted[keys.listExpiry(list.rawValue), default: [:]] == book.compactMapValues { $0 })
                }
            }
            #expect(pool.policy.lists.contains(.blacklist, "/admin/*"), "configured entries are permanent")
        }
    }

    @Test func invariantsHoldOverRandomMessageSequences() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...575), Gen.int(in: 0...1_000_000).array(of: 1...150)) {
            shape, steps in
            var run = Run(config: Self.config(shape))
            run.checkInvariants(onlineBefore: 0, anomaly: false)
            for value in steps {
                let before = run.pool.count(.online)
                let anomaly = run.step(value)
                run.checkInvariants(onlineBefore: before, anomaly: anomaly)
            }
        }
    }
}
