import Foundation
import Shared

/// Several `mimic-listener` instances in cluster mode (DESIGN section 11) over one bench
/// environment's apps.d and first Redis: each instance has its own directory, doors and run dir,
/// and the leases live in DB 15. Local processes stand in for the scheduler machines.
final class ClusterInstances: @unchecked Sendable {
    static let clusterDB = 15

    struct Instance {
        let name: String
        let directory: String
        let tcpPort: Int
        let adminPort: Int
    }

    let environment: BenchEnvironment
    let instances: [Instance]
    private var processes: [Int: ManagedProcess] = [:]

    /// `clusterRedis`: the body of `cluster.redis` (default: the environment's first Redis, DB 15).
    init(environment: BenchEnvironment, count: Int, lease: String, clusterRedis: String? = nil) throws {
        guard environment.appNames.count < Self.clusterDB else {
            throw BenchFailure(
                "--apps: at most \(Self.clusterDB - 1) in cluster mode (DB \(Self.clusterDB) holds the leases)")
        }
        self.environment = environment
        let clusterRedis = clusterRedis ?? "{ host: 127.0.0.1, port: \(environment.redisPort), db: \(Self.clusterDB) }"
        var instances: [Instance] = []
        for index in 0..<count {
            let name = "i\(index)"
            let directory = environment.directory + "/" + name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let instance = Instance(
                name: name, directory: directory, tcpPort: try PosixSocket.freeLoopbackPort(),
                adminPort: try PosixSocket.freeLoopbackPort())
            let yaml = """
                instance: \(name)
                http: { host: 127.0.0.1, port: \(try PosixSocket.freeLoopbackPort()) }
                tcp: { host: 127.0.0.1, port: \(instance.tcpPort) }
                admin: { host: 127.0.0.1, port: \(instance.adminPort) }
                apps_dir: ../apps.d
                run_dir: ./run
                journal_dir: ./journal
                fsync: \(environment.options.fsync)
                tokens:
                  - { name: bench, token: "\(BenchEnvironment.token)", sources: ["*"], apps: ["*"] }
                supervise: { enabled: true, worker: "\(environment.options.binDir)/mimic-worker" }
                cluster: { redis: \(clusterRedis), lease: \(lease) }

                """
            try yaml.write(toFile: directory + "/listener.yaml", atomically: true, encoding: .utf8)
            instances.append(instance)
        }
        self.instances = instances
    }

    func start(_ index: Int) throws {
        let instance = instances[index]
        processes[index] = try ManagedProcess(
            name: "mimic-listener \(instance.name)", executable: environment.options.binDir + "/mimic-listener",
            arguments: ["--config", instance.directory + "/listener.yaml", "--log-level", "warning"],
            logPath: instance.directory + "/listener.log", directory: instance.directory)
    }

    /// Every app as instance `index` reports it.
    func statuses(seenBy index: Int) throws -> [String: AppStatus] {
        let response = try BlockingHTTPClient(timeout: 30).request(
            "GET", "http://127.0.0.1:\(instances[index].adminPort)/v1/apps")
        guard response.status == 200,
            let list = try? JSONDecoder().decode(AppStatusList.self, from: Data(response.body))
        else { throw BenchFailure("GET /v1/apps of \(instances[index].name) answered \(response.status)") }
        return Dictionary(uniqueKeysWithValues: list.apps.map { ($0.app, $0) })
    }

    /// Waits until every app is owned by one of `live`, its owner's worker is connected, every
    /// live instance names the same owners, and each owns the floor or the ceiling of its share
    /// (the placement's spread, reached once the first instance handed the others their apps);
    /// returns app -> owner.
    func waitSettled(live: [Int], timeout: Double = 120) throws -> [String: String] {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        let names = Set(live.map { instances[$0].name })
        while monotonicNanos() < deadline {
            if let owners = try? settled(live: live, names: names) { return owners }
            sleepMillis(20)
        }
        throw BenchFailure("cluster not settled after \(timeout) s; see \(environment.directory)/i*/listener.log")
    }

    private func settled(live: [Int], names: Set<String>) throws -> [String: String]? {
        var reference: [String: String]?
        for index in live {
            let statuses = try statuses(seenBy: index)
            var owners: [String: String] = [:]
            for (app, status) in statuses {
                guard let owner = status.owner, names.contains(owner) else { return nil }
                if owner == instances[index].name, !status.worker.connected { return nil }
                owners[app] = owner
            }
            guard owners.count == environment.appNames.count, reference == nil || reference == owners else {
                return nil
            }
            reference = owners
        }
        let share = environment.appNames.count / live.count
        for name in names {
            let owned = reference?.values.filter { $0 == name }.count ?? 0
            guard owned == share || owned == share + 1 else { return nil }
        }
        return reference
    }

    /// A machine dying: the listener and the workers it runs, `kill -9` at once.
    func killMachine(_ index: Int) throws {
        let name = instances[index].name
        let workers = try statuses(seenBy: index).values.filter { $0.owner == name }.compactMap(\.worker.pid)
        if let process = processes[index] { kill(process.pid, SIGKILL) }
        for pid in workers { kill(Int32(pid), SIGKILL) }
        processes[index]?.process.waitUntilExit()
        processes[index] = nil
    }

    func shutdown() {
        for process in processes.values { process.stop(grace: 15) }
        processes = [:]
    }
}
