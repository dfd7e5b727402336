import Foundation
import Shared
import TestSupport
import Testing

/// Several real `mimic-listener` instances in cluster mode (DESIGN section 11) on one real Redis:
/// each instance has its own directory, doors, run dir and workers; the apps and their DBs are the
/// same for all, and the leases live in DB 15. Instances are local processes standing in for
/// scheduler machines; with a `NetworkLab`, each instance and the Redis run on a host of their own
/// (a network namespace), so a test can cut one off.
final class ClusterFixture: @unchecked Sendable {
    static let clusterDB = 15
    static let redisHost = "redis"
    let lab: NetworkLab?
    /// With a Sentinel topology, the apps and the leases are on its master, whichever that is.
    let sentinel: SentinelTopology?
    let redis: RedisServer
    let apps: [String]
    private(set) var instances: [String: ListenerFixture] = [:]

    init(
        apps: [String], instances names: [String], lease: String = "1s", lab: NetworkLab? = nil,
        redisAppendOnly: Bool = false, sentinel: SentinelTopology? = nil, wait: String? = nil
    ) throws {
        self.lab = lab
        self.sentinel = sentinel
        if let sentinel {
            redis = sentinel.servers[0]
        } else if let lab {
            let host = try lab.addHost(Self.redisHost)
            redis = try RedisServer(
                appendOnly: redisAppendOnly, host: host.address, launcher: lab.launcher(on: Self.redisHost))
        } else {
            redis = try RedisServer(appendOnly: redisAppendOnly)
        }
        self.apps = apps
        let clusterRedis =
            sentinel.map { String($0.redisBlock(db: Self.clusterDB, wait: wait).dropFirst("redis: ".count)) }
            ?? "{ host: \(redis.host), port: \(redis.port), db: \(Self.clusterDB) }"
        var appRedis: (@Sendable (Int) -> String)?
        if let sentinel {
            appRedis = { db in sentinel.redisBlock(db: db, wait: wait) }
        }
        for name in names {
            let host = try lab?.addHost(name)
            instances[name] = try ListenerFixture(
                apps: apps,
                extraConfig: """
                    instance: \(name)
                    cluster: { redis: \(clusterRedis), lease: \(lease) }
                    """,
                sharedRedis: redis, host: host?.address ?? "127.0.0.1", launcher: lab?.launcher(on: name) ?? [],
                redisBlock: appRedis)
        }
    }

    subscript(_ name: String) -> ListenerFixture { instances[name]! }

    /// Stops every instance (SIGTERM, then SIGKILL) and their workers, then Redis. For a test
    /// whose threads may still hold the fixture when it ends; deinit does the same otherwise.
    func shutdown() {
        // The listeners first, while their Redis is still reachable: a graceful stop commits.
        for name in instances.keys {
            let workers = workerPIDs(of: name)
            if self[name].pid > 0 { _ = self[name].terminate() }
            for pid in workers.values where ChildProcess.isAlive(pid) { ChildProcess.kill(pid) }
        }
        if let sentinel {
            for server in sentinel.servers { server.stop() }
        } else {
            redis.stop()
        }
    }

    deinit {
        instances.removeAll()
    }

    /// Every instance has the same apps in the same DBs.
    var anyInstance: ListenerFixture { instances.values.first! }

    /// Starts the instance and returns once its admin door answers (it owns nothing yet).
    func start(_ name: String) throws {
        // The spawn truncates the log: what an earlier incarnation wrote is kept beside it.
        let log = self[name].logPath
        if let earlier = FileManager.default.contents(atPath: log), !earlier.isEmpty {
            if let handle = FileHandle(forWritingAtPath: log + ".earlier") {
                handle.seekToEndOfFile()
                handle.write(earlier)
                handle.closeFile()
            } else {
                _ = FileManager.default.createFile(atPath: log + ".earlier", contents: earlier)
            }
        }
        try self[name].start(apps: [])
    }

    /// Each app's owner as `/v1/apps` of `name` reports it.
    func owners(seenBy name: String) throws -> [String: String] {
        var owners: [String: String] = [:]
        for (app, status) in try self[name].appsStatus() {
            if let owner = status["owner"] as? String { owners[app] = owner }
        }
        return owners
    }

    /// The apps whose worker `name` runs and whose link is connected.
    func connectedApps(of name: String) throws -> Set<String> {
        Set(
            try self[name].appsStatus().compactMap { app, status in
                (status["worker"] as? [String: Any])?["connected"] as? Bool == true ? app : nil
            })
    }

    /// Every live instance names the same owner for every app, the owner is among `live`, runs the
    /// app's worker, and no other instance runs one.
    func settled(live: [String]) -> [String: String]? {
        guard let reference = try? owners(seenBy: live[0]), Set(reference.keys) == Set(apps),
            reference.values.allSatisfy(live.contains)
        else { return nil }
        for name in live {
            guard (try? owners(seenBy: name)) == reference, let connected = try? connectedApps(of: name),
                connected == Set(reference.filter { $0.value == name }.keys)
            else { return nil }
        }
        return reference
    }

    /// Settled, and every instance of `live` owns the floor or the ceiling of its share.
    func balanced(live: [String]) -> [String: String]? {
        guard let owners = settled(live: live) else { return nil }
        let counts = live.map { name in owners.values.filter { $0 == name }.count }
        let share = apps.count / live.count
        return counts.allSatisfy { $0 == share || $0 == share + 1 } ? owners : nil
    }

    /// Waits until `balanced(live:)` holds and returns the owners it found; nil after `timeout`.
    func waitBalanced(live: [String], timeout: TimeInterval) -> [String: String]? {
        var owners: [String: String]?
        _ = eventually(timeout: timeout) {
            owners = balanced(live: live)
            return owners != nil
        }
        return owners
    }

    /// The pids of the workers serving sockets in the instance's run dir (adopted or not).
    func workerPIDs(of name: String) -> [String: pid_t] {
        let runDir = self[name].runDir
        var pids: [String: pid_t] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? [] where file.hasSuffix(".sock") {
            if let client = try? LineSocket(path: runDir + "/" + file, timeout: 0.2),
                let status = try? client.request(["op": "status"], timeout: 1),
                let pid = (status["pid"] as? NSNumber)?.int32Value
            {
                pids[String(file.dropLast(".sock".count))] = pid
            }
        }
        return pids
    }

    /// A machine dying: the listener and every worker it runs, `kill -9`.
    func killMachine(_ name: String) {
        let workers = workerPIDs(of: name)
        self[name].kill9()
        for pid in workers.values { Foundation.kill(pid, SIGKILL) }
    }

    /// Sends `count` health reports per app through `name`'s ingress; returns the ids, all answered 202.
    func send(through name: String, count: Int, prefix: String) throws -> [String: [String]] {
        var ids: [String: [String]] = [:]
        for app in apps {
            let batch = (0..<count).map { "\(prefix)-\(app)-\($0)" }
            let body = "[" + batch.map { Messages.health(app, id: $0) }.joined(separator: ",") + "]"
            let reply = try self[name].http("POST", "/v1/events", body: body, token: ListenerFixture.adminToken)
            guard reply.status == 202 else {
                throw TestSupportError("POST /v1/events to \(name) for \(app): \(reply.status) \(reply.body)")
            }
            ids[app] = batch
        }
        return ids
    }

    /// The Redis the apps write to now: the Sentinel topology's current master, else the one.
    var store: RedisServer { (try? sentinel?.currentMaster()) ?? redis }

    /// How many events of `app` name each of `ids` as their cause.
    func effects(_ app: String, ids: [String]) throws -> [String: Int] {
        let wanted = Set(ids)
        var counts: [String: Int] = [:]
        for entry in try store.streamEntries("mimic:\(app):events", db: anyInstance.db(app)) {
            if let cause = entry["cause"], wanted.contains(cause) { counts[cause, default: 0] += 1 }
        }
        return counts
    }

    func fence(_ app: String) throws -> Int {
        Int(try store.cliRaw(["HGET", "mimic:\(app):meta", "fence"], db: anyInstance.db(app)).first ?? "") ?? 0
    }
}
