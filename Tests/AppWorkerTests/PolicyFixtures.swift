@testable import AppWorker
@testable import Scheduling
@testable import Shared

/// Pure pools for the policy tests: three variants that differ in every trait, one host, driver
/// actions completed on request.
enum PolicyFixtures {
    static let variants = [
        Variant(name: "nginx-php", traits: ["os": "debian", "web": "nginx", "lang": "php"]),
        Variant(name: "apache-java", traits: ["os": "centos", "web": "apache", "lang": "java"]),
        Variant(name: "caddy-go", traits: ["os": "alpine", "web": "caddy", "lang": "go"]),
    ]

    static func config(
        online: Int = 3, standby: Int = 2, minOnline: Int = 2, retainDirty: Int = 1,
        dirtyTTL: Duration = .zero, scheduling: Scheduling = Scheduling(seed: 1),
        lists: Lists = .init()
    ) -> AppConfig {
        AppConfig(
            app: "shop", redis: RedisSettings(),
            replicas: Replicas(
                online: online, standby: standby, minOnline: minOnline, retainDirty: retainDirty,
                dirtyTTL: dirtyTTL),
            variants: variants,
            hosts: [
                HostConfig(
                    name: "h1", address: "127.0.0.1", driver: .command,
                    command: CommandHooks(create: ["c"], clean: ["c"], remove: ["r"], list: ["l"]))
            ],
            scheduling: scheduling, lists: lists)
    }

    /// A pool brought to its targets, every create completed, at time `now`.
    static func filledPool(_ config: AppConfig, now: Int64 = 1_000) -> ExecutorPool {
        var pool = ExecutorPool(settings: .init(config: config), seed: config.scheduling.seed ?? 1)
        complete(&pool, pool.handle(.replenish(cause: .message("start")), now: now), now: now)
        return pool
    }

    /// Runs every driver action of the decision (and those that follow) to success.
    @discardableResult
    static func complete(_ pool: inout ExecutorPool, _ decision: Decision, now: Int64) -> [Decision] {
        var actions = decision.actions
        var decisions: [Decision] = []
        var port = 9000
        while !actions.isEmpty {
            let action = actions.removeFirst()
            port += 1
            let next = pool.handle(.actionSucceeded(action, endpoint: "127.0.0.\(port % 250):\(port)"), now: now)
            decisions.append(next)
            actions += next.actions
        }
        return decisions
    }

    static func arbitration(_ executors: [String], dissenters: [String], url: String? = "/login") -> SchedulerEvent {
        .message(
            .arbitration(
                Arbitration(
                    requestId: nil, url: url, method: "GET", executors: executors,
                    dissenters: dissenters)), cause: "arb")
    }

    static func health(_ executor: String, _ status: HealthReport.Status, cause: String = "hb") -> SchedulerEvent {
        .message(.health(HealthReport(executor: executor, status: status, latencyMs: nil)), cause: cause)
    }

    static func alert(
        _ executor: String? = nil, address: String? = nil, _ severity: Severity,
        cause: String = "alert"
    ) -> SchedulerEvent {
        .message(
            .alert(
                Alert(
                    executor: executor, address: address, severity: severity, rule: "942100", kind: nil,
                    url: "/x")), cause: cause)
    }

    static func list(
        _ list: ListChange.List, _ op: ListChange.Op, _ url: String, ttl: Duration? = nil,
        cause: String = "list"
    ) -> SchedulerEvent {
        .message(.list(ListChange(list: list, op: op, url: url, ttl: ttl)), cause: cause)
    }
}
