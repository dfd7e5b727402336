import Foundation
import Shared
import TestSupport
import Testing

/// DESIGN section 10 with every part real (listener, worker, Redis, hooks): one seeded stream of
/// messages of every kind gives the same end state applied straight through, with `kill -9` of the
/// worker at seeded points, and with the worker stopped (SIGSTOP) while the listener journals part
/// of it. Compared: executor states, dissent counts, confidences, the lists, the policy memory's
/// dissent and alert counts, variant trust, the published online set, and (straight and kill -9
/// runs) how many online versions were published.
///
/// What is excluded, and why:
/// - times (`since`, event times, list expiries, the accept times in the memory): the listener
///   stamps wall time, which differs from run to run; the window (1h) and TTLs (1h) are far longer
///   than a run, so no decision depends on them.
/// - the online version counter of the stopped run: a version is published per commit that moved
///   the set or a weight; the stopped worker applies its backlog as one commit where the live one
///   committed per message, so it publishes fewer versions of the same decisions.
/// - ejections while the worker is stopped: executors a refill creates become standby when their
///   create hook answers, between two messages live but only after the whole backlog in the
///   stopped run. That is the driver's timing, not the policy's memory, so the stopped stretch
///   carries only messages that eject nobody (consistent arbitrations, single dissents, health
///   `up`, list changes).
/// The driver's hooks answer at once (ListenerFixture's hooks), one action at a time
/// (`max_parallel_actions: 1`: parallel hooks finish in any order, and the order of their results
/// decides which standby is promoted), and the test waits after each message until no executor is
/// being created or cleaned, so driver results land at the same points of the stream in every run.
@Suite(.serialized, .startsProcesses)
struct RestartEquivalenceE2ETests {
    static let seed: UInt64 = 20_261_129
    static let count = 36

    /// One message of the stream: its JSON, and whether it may eject someone.
    struct Step {
        var json: String
        var calm: Bool
    }

    /// SplitMix64: the stream must be the same in every run and on every machine.
    struct Stream {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static func steps() -> [Step] {
        var random = Stream(state: seed)
        // Executors are named e1, e2, … in creation order; the first ones exist in every run.
        func executor() -> String { "e\(1 + random.next(8))" }
        func envelope(_ index: Int, _ source: String, _ type: String, _ body: String) -> String {
            "{\"id\":\"eq-\(index)\",\"app\":\"shop\",\"source\":\"\(source)\",\"type\":\"\(type)\",\"body\":\(body)}"
        }
        return (0..<count).map { index in
            let online = "[\"e1\",\"e2\",\"e3\",\"e4\",\"e5\"]"
            switch random.next(9) {
            case 0:
                return Step(
                    json: envelope(
                        index, "right_bracket", "arbitration",
                        "{\"url\":\"/u\(random.next(3))\",\"executors\":\(online),\"dissenters\":[]}"), calm: true)
            case 1, 2:
                let url = random.next(2) == 0 ? ",\"url\":\"/u\(random.next(3))\"" : ""
                return Step(
                    json: envelope(
                        index, "right_bracket", "arbitration",
                        "{\"executors\":\(online),\"dissenters\":[\"e\(1 + random.next(5))\"]\(url)}"), calm: false)
            case 3:
                let status = ["up", "degraded", "down"][random.next(3)]
                return Step(
                    json: envelope(
                        index, "left_bracket", "health", "{\"executor\":\"\(executor())\",\"status\":\"\(status)\"}"),
                    calm: status == "up")
            case 4:
                let severity = ["low", "medium", "high"][random.next(3)]
                return Step(
                    json: envelope(
                        index, "waf", "alert",
                        "{\"executor\":\"\(executor())\",\"rule\":\"9\",\"severity\":\"\(severity)\"}"), calm: false)
            case 5, 6:
                let op = random.next(3) == 0 ? "remove" : "add"
                return Step(
                    json: envelope(
                        index, "waf", "list",
                        "{\"list\":\"blacklist\",\"op\":\"\(op)\",\"url\":\"/p\(random.next(4))\",\"ttl\":\"1h\"}"),
                    calm: true)
            case 7:
                let state = ["offline", "standby", "online"][random.next(3)]
                return Step(
                    json: envelope(
                        index, "admin", "set_state", "{\"executor\":\"\(executor())\",\"state\":\"\(state)\"}"),
                    calm: false)
            default:
                return Step(json: envelope(index, "admin", "rotate", "{}"), calm: false)
            }
        }
    }

    /// What the comparison reads: the end state, without times.
    struct EndState: Equatable, CustomStringConvertible {
        var executors: [String: String]
        var lists: [String]
        var memoryCounts: [String: Int]
        var onlineMembers: [String]
        var onlineVersion: String
        var description: String {
            "executors \(executors)\nlists \(lists)\nmemory \(memoryCounts)\nonline \(onlineMembers) v\(onlineVersion)"
        }
    }

    enum Interruption { case none, kill9, stoppedWorker }

    func run(_ interruption: Interruption) throws -> EndState {
        let fixture = try ListenerFixture(apps: ["shop"])
        try Self.writeApp(fixture)
        try fixture.start(apps: ["shop"])
        let db = fixture.db("shop")
        var random = Stream(state: Self.seed ^ 0xABCD)
        let steps = Self.steps()
        // The worker is stopped for a calm stretch in the middle of the stream.
        let stretch = Self.calmStretch(steps)
        for (index, step) in steps.enumerated() {
            if interruption == .stoppedWorker, index == stretch.lowerBound, let pid = try fixture.workerPID("shop") {
                kill(pid_t(pid), SIGSTOP)
            }
            let reply = try fixture.http("POST", "/v1/events", body: step.json)
            #expect(reply.status == 202, "\(step.json): \(reply.body)")
            guard reply.status == 202 else { throw TestSupportError("message \(index) refused") }
            if interruption == .stoppedWorker, stretch.contains(index) {
                if index == stretch.upperBound - 1, let pid = try fixture.workerPID("shop") {
                    kill(pid_t(pid), SIGCONT)
                } else {
                    continue
                }
            }
            try Self.settle(fixture, applied: index + 1)
            if interruption == .kill9, random.next(4) == 0, let pid = try fixture.workerPID("shop") {
                kill(pid_t(pid), SIGKILL)
                #expect(eventually(timeout: 30) { (try? fixture.workerPID("shop")).flatMap { $0 } ?? pid != pid })
                try Self.settle(fixture, applied: index + 1)
            }
        }
        var executors: [String: String] = [:]
        for state in ExecutorState.allCases {
            for id in try fixture.redis.cliRaw(["SMEMBERS", "mimic:shop:state:\(state.rawValue)"], db: db)
            where !id.isEmpty {
                let hash = try fixture.redis.cliRaw(["HGETALL", "mimic:shop:exec:\(id)"], db: db).fieldPairs
                executors[id] =
                    "\(state.rawValue) dissents=\(hash["dissents"] ?? "-") confidence=\(hash["confidence"] ?? "-") variant=\(hash["variant"] ?? "-")"
            }
        }
        let lists = try fixture.redis.cliRaw(["SMEMBERS", "mimic:shop:list:blacklist"], db: db).filter { !$0.isEmpty }
            .sorted()
        let memoryText = try fixture.redis.cliRaw(["GET", "mimic:shop:policy"], db: db).joined()
        let memory = (try? JSONSerialization.jsonObject(with: Data(memoryText.utf8))) as? [String: Any] ?? [:]
        let policy = memory["policy"] as? [String: Any] ?? [:]
        var counts: [String: Int] = [:]
        for key in ["dissents", "degraded", "low_alerts"] {
            for (id, times) in policy[key] as? [String: [Any]] ?? [:] { counts["\(key):\(id)"] = times.count }
        }
        for (url, dissents) in policy["url_dissents"] as? [String: [Any]] ?? [:] {
            counts["url:\(url)"] = dissents.count
        }
        for (variant, trust) in policy["variant_trust"] as? [String: Double] ?? [:] {
            counts["trust:\(variant)"] = Int((trust * 1_000_000).rounded())
        }
        counts["random-set"] = memory["random"] == nil ? 0 : 1
        let version = try fixture.redis.cliRaw(["HGET", "mimic:shop:meta", "online_version"], db: db).first ?? ""
        let viewText = try fixture.redis.cliRaw(["GET", "mimic:shop:online:view"], db: db).joined()
        let view = (try? JSONSerialization.jsonObject(with: Data(viewText.utf8))) as? [String: Any] ?? [:]
        let members = (view["online"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }.sorted()
        return EndState(
            executors: executors, lists: lists, memoryCounts: counts, onlineMembers: members, onlineVersion: version)
    }

    /// The longest run of calm steps after the first quarter, at most 12 long.
    static func calmStretch(_ steps: [Step]) -> Range<Int> {
        var best = 0..<0
        var start = steps.count / 4
        for index in (steps.count / 4)..<steps.count {
            if !steps[index].calm {
                start = index + 1
                continue
            }
            if index + 1 - start > best.count { best = start..<(index + 1) }
            if best.count == 12 { break }
        }
        return best
    }

    /// Waits until `applied` messages took effect and no executor is being created or cleaned.
    static func settle(_ fixture: ListenerFixture, applied: Int) throws {
        let db = fixture.db("shop")
        let settled = try eventually(timeout: 30, interval: 0.05) {
            guard try fixture.appliedSeq("shop") >= applied else { return false }
            let busy = try ["initializing", "cleaning"].reduce(0) { total, state in
                total
                    + (try fixture.redis.cliRaw(["SCARD", "mimic:shop:state:\(state)"], db: db).first.flatMap {
                        Int($0)
                    } ?? 0)
            }
            return busy == 0
        }
        if !settled { throw TestSupportError("shop did not settle after \(applied) messages: \(fixture.log())") }
    }

    static func writeApp(_ fixture: ListenerFixture) throws {
        let yaml = """
            app: shop
            redis: { host: 127.0.0.1, port: \(fixture.redis.port), db: \(fixture.db("shop")) }
            replicas: { online: 3, standby: 2, min_online: 2, retain_dirty: 2 }
            variants:
              - { name: v1, traits: { os: debian, web: nginx } }
              - { name: v2, traits: { os: centos, web: apache } }
              - { name: v3, traits: { os: alpine, web: caddy } }
            hosts:
            \(AppConfigText.commandHost("local-shop", address: "10.9.1.1", hooksDir: fixture.hooksDir, timeout: "5s", probe: nil))
            scheduling: { seed: 7, rotate_every: 0, abnormal: { dissents: 3, window: 1h, degraded: 2, low_severity: 2 } }
            reconcile_every: 0
            max_parallel_actions: 1

            """
        try yaml.write(toFile: fixture.appsDir + "/shop.yaml", atomically: true, encoding: .utf8)
    }

    @Test func theSameStreamEndsInTheSameStateWhateverStopsTheWorker() throws {
        #expect(Self.calmStretch(Self.steps()).count >= 4, "the seed gives the stopped run a stretch to journal")
        let straight = try run(.none)
        #expect(
            straight.executors.count > 5 || straight.executors.values.contains { $0.hasPrefix("dirty") },
            "the stream replaces someone: \(straight)")
        let killed = try run(.kill9)
        #expect(killed == straight, "kill -9 changed decisions:\n\(killed)\nvs straight:\n\(straight)")
        var stopped = try run(.stoppedWorker)
        stopped.onlineVersion = straight.onlineVersion
        #expect(stopped == straight, "a stopped worker changed decisions:\n\(stopped)\nvs straight:\n\(straight)")
    }
}
