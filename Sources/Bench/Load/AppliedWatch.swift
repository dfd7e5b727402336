/// Polls `mimic:{app}:applied` seq per app (each app in its own DB) until every app reached its
/// target: "applied" in the issue means in effect in Redis, not merely journaled.
struct AppliedWatch {
    private var connections: [String: RespConnection] = [:]

    init(environment: BenchEnvironment) throws {
        for app in environment.appNames {
            connections[app] = try RespConnection(port: environment.redisPort(of: app), db: environment.db(of: app))
        }
    }

    func seq(_ app: String) throws -> Int {
        Int(try connections[app]?.command(["HGET", "mimic:\(app):applied", "seq"]).string ?? "") ?? 0
    }

    func all() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for app in connections.keys { out[app] = try seq(app) }
        return out
    }

    /// Waits until each app's applied seq >= its target; true if reached before the timeout.
    func wait(for targets: [String: Int], timeout: Double, pollMillis: Double = 2) throws -> Bool {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        var pending = targets.filter { $0.value > 0 }
        while !pending.isEmpty {
            for (app, target) in pending {
                if try seq(app) >= target { pending[app] = nil }
            }
            if pending.isEmpty { return true }
            if monotonicNanos() > deadline { return false }
            sleepMillis(pollMillis)
        }
        return true
    }
}
