import Foundation
import Shared

@testable import AppWorker
@testable import Scheduling

/// Shared builders for the pool tests: configs in code, messages through the real validator.
enum Fixtures {
    static let traits: [String: [String: String]] = [
        "v1": ["os": "linux", "web": "nginx", "lang": "php"],
        "v2": ["os": "bsd", "web": "apache", "lang": "java"],
        "v3": ["os": "linux", "web": "caddy", "lang": "go"],
    ]

    static func config(
        online: Int = 3, standby: Int = 2, minOnline: Int = 2, retainDirty: Int = 2,
        hosts: [String] = ["h1", "h2"], variants: [String] = ["v1", "v2", "v3"],
        strategy: SelectionStrategy = .heterogeneity, dissents: Int = 3,
        window: Duration = .seconds(60), seed: UInt64? = 42, learning: Learning = .init()
    ) -> AppConfig {
        AppConfig(
            app: "shop", redis: RedisSettings(),
            replicas: Replicas(online: online, standby: standby, minOnline: minOnline, retainDirty: retainDirty),
            variants: variants.map { Variant(name: $0, traits: traits[$0] ?? [:]) },
            hosts: hosts.map { HostConfig(name: $0, address: "127.0.0.1", driver: .command) },
            scheduling: Scheduling(
                strategy: strategy, abnormalDissents: dissents, abnormalWindow: window, seed: seed, learning: learning))
    }

    static func pool(_ config: AppConfig, seed: UInt64 = 42) -> ExecutorPool {
        ExecutorPool(settings: .init(config: config), seed: seed)
    }

    static func body(
        _ source: Source, _ type: MessageType, _ fields: [String: JSONValue] = [:],
        app: String? = "shop"
    ) throws -> MessageBody {
        try Envelope(id: "m", app: app, source: source, type: type, body: .object(fields)).validated()
    }

    static func message(
        _ source: Source, _ type: MessageType, _ fields: [String: JSONValue] = [:],
        app: String? = "shop", cause: String = "msg"
    ) throws -> SchedulerEvent {
        .message(try body(source, type, fields, app: app), cause: cause)
    }

    static func arbitration(
        _ executors: [String], dissenters: [String], url: String = "/x",
        cause: String = "arb"
    ) throws -> SchedulerEvent {
        try message(
            .rightBracket, .arbitration,
            [
                "url": .string(url), "executors": .array(executors.map { .string($0) }),
                "dissenters": .array(dissenters.map { .string($0) }),
            ], cause: cause)
    }

    static func health(_ executor: String, _ status: String, cause: String = "health") throws -> SchedulerEvent {
        try message(.leftBracket, .health, ["executor": .string(executor), "status": .string(status)], cause: cause)
    }

    static func alert(
        executor: String? = nil, address: String? = nil, severity: String,
        source: Source = .waf, cause: String = "alert"
    ) throws -> SchedulerEvent {
        var fields: [String: JSONValue] = ["severity": .string(severity), "rule": .string("942100")]
        if let executor { fields["executor"] = .string(executor) }
        if let address { fields["address"] = .string(address) }
        return try message(source, .alert, fields, app: executor == nil ? nil : "shop", cause: cause)
    }

    static func setState(_ executor: String, _ state: String, cause: String = "admin") throws -> SchedulerEvent {
        try message(.admin, .setState, ["executor": .string(executor), "state": .string(state)], cause: cause)
    }

    static func admin(_ type: MessageType, cause: String = "admin") throws -> SchedulerEvent {
        try message(.admin, type, cause: cause)
    }

    static func create(_ executor: Executor) -> DriverAction {
        DriverAction(kind: .create, executor: executor.id, variant: executor.variant, host: executor.host)
    }

    static func action(_ kind: DriverAction.Kind, _ pool: ExecutorPool, _ id: String) -> DriverAction {
        let executor = pool.executors[id]!
        return DriverAction(kind: kind, executor: id, variant: executor.variant, host: executor.host)
    }

    /// Start-up replenish at t=0, then every create succeeds at t=1, 2, ... with endpoint
    /// 10.0.0.<n>:8080. With the default config: online e1 e2 e3, standby e4 e5.
    /// `endpoint`: what each create returns, from the executor's number (e1 is 1).
    static func steady(
        _ config: AppConfig = config(), seed: UInt64 = 42, endpoint: (Int) -> String = { "10.0.0.\($0):8080" }
    ) -> ExecutorPool {
        var pool = pool(config, seed: seed)
        let start = pool.handle(.replenish(cause: .message("start")), now: 0)
        var now: Int64 = 0
        for action in start.actions where action.kind == .create {
            now += 1
            let number = Int(action.executor.dropFirst()) ?? 0
            _ = pool.handle(.actionSucceeded(action, endpoint: endpoint(number)), now: now)
        }
        return pool
    }
}

extension Decision {
    func moves(_ id: String) -> [String] {
        transitions.filter { $0.executor == id }.map { "\($0.from?.rawValue ?? "nil")->\($0.to?.rawValue ?? "nil")" }
    }
}

extension ExecutorPool {
    mutating func publishAgain() -> OnlineView? { onlinePublication(app: "shop") }
}
