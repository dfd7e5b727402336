import Foundation
import Shared

/// A real replicated Redis on loopback: one `redis-server` master, its replicas and three
/// `redis-sentinel` processes monitoring them as `mimic`, with short timeouts so a failover takes
/// a second or two. Each process has its own port and temp dir and is killed by PID.
public final class SentinelTopology: @unchecked Sendable {
    public static let masterName = "mimic"
    /// Sentinel's `down-after-milliseconds`: how long the master must be silent before failover.
    public static let downAfterMilliseconds = 1000

    public let servers: [RedisServer]
    public let sentinels: [SentinelProcess]

    /// `replicas`: with `redis.wait`, a failover leaves the new master one replica fewer, so a
    /// test that kills the master and still expects commits needs two.
    public init(replicas: Int = 1, sentinelCount: Int = 3) throws {
        // No diskless-sync delay: a replica links at once instead of after 5 s.
        let fast = ["--repl-diskless-sync-delay", "0"]
        let master = try RedisServer(extraArguments: fast)
        servers =
            [master]
            + (try (0..<replicas).map { _ in
                try RedisServer(extraArguments: fast + ["--replicaof", "127.0.0.1", "\(master.port)"])
            })
        sentinels = try (0..<sentinelCount).map { _ in try SentinelProcess(monitoring: master.port) }
        try waitUntilReplicated()
        try waitUntilSentinelsKnowEachOther()
    }

    /// The `redis:` block of an app config that finds this master through the sentinels.
    public func redisBlock(db: Int, wait: String? = nil) -> String {
        let nodes = sentinels.map { "\"127.0.0.1:\($0.port)\"" }.joined(separator: ", ")
        let waitText = wait.map { ", wait: \($0)" } ?? ""
        return "redis: { sentinel: { master: \(Self.masterName), nodes: [\(nodes)] }, db: \(db)\(waitText) }"
    }

    public var settingsNodes: [SentinelSettings.Node] {
        sentinels.map { SentinelSettings.Node(host: "127.0.0.1", port: $0.port) }
    }

    /// The server the sentinels currently name as master (asked of the first one that answers).
    public func currentMaster() throws -> RedisServer {
        for sentinel in sentinels where sentinel.pid > 0 {
            guard
                let lines = try? sentinel.cliRaw(["SENTINEL", "get-master-addr-by-name", Self.masterName]),
                lines.count == 2, let port = Int(lines[1])
            else { continue }
            if let server = servers.first(where: { $0.port == port }) { return server }
        }
        throw TestSupportError("no sentinel names a master for \(Self.masterName)")
    }

    /// Waits until the sentinels name a master other than `old` and that server says it is one.
    @discardableResult
    public func waitForFailover(from old: RedisServer, timeout: TimeInterval = 30) throws -> RedisServer {
        var promoted: RedisServer?
        let done = eventually(timeout: timeout) {
            guard let master = try? currentMaster(), master.port != old.port else { return false }
            guard (try? master.cliRaw(["ROLE"]).first) == "master" else { return false }
            promoted = master
            return true
        }
        guard done, let promoted else {
            throw TestSupportError("no failover from port \(old.port) within \(timeout) s")
        }
        return promoted
    }

    private func waitUntilReplicated() throws {
        for replica in servers.dropFirst() { try waitUntilLinked(replica) }
    }

    private func waitUntilLinked(_ replica: RedisServer) throws {
        let linked = eventually(timeout: 15) {
            // INFO is one bulk string with \r\n line ends, which Swift does not split on "\n".
            (try? replica.cli("INFO", "replication"))?.contains("master_link_status:up") == true
        }
        if !linked {
            let info = (try? replica.cli("INFO", "replication")) ?? "no INFO"
            throw TestSupportError("the replica on port \(replica.port) did not link to its master: \(info)")
        }
    }

    /// Each sentinel must see the others (and the replica) before a failover can get a quorum.
    private func waitUntilSentinelsKnowEachOther() throws {
        let others = sentinels.count - 1
        let ready = eventually(timeout: 20) {
            sentinels.allSatisfy { sentinel in
                guard let lines = try? sentinel.cliRaw(["SENTINEL", "master", Self.masterName]) else { return false }
                let fields = lines.fieldPairs
                return Int(fields["num-other-sentinels"] ?? "") == others
                    && Int(fields["num-slaves"] ?? "") == servers.count - 1
            }
        }
        if !ready { throw TestSupportError("the sentinels did not discover each other and the replica within 20 s") }
    }

    deinit {
        for sentinel in sentinels { sentinel.stop() }
        for server in servers { server.stop() }
    }
}

/// One real `redis-sentinel` process with its own config file (Sentinel rewrites it), port and dir.
public final class SentinelProcess: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    public private(set) var pid: pid_t = 0

    public init(monitoring masterPort: Int) throws {
        port = try FreePort.take()
        directory = try TempDirectory.make(prefix: "mimic-sentinel")
        let config = """
            port \(port)
            bind 127.0.0.1
            daemonize no
            dir \(directory.path)
            logfile \(directory.appendingPathComponent("sentinel.log").path)
            sentinel monitor \(SentinelTopology.masterName) 127.0.0.1 \(masterPort) 2
            sentinel down-after-milliseconds \(SentinelTopology.masterName) \(SentinelTopology.downAfterMilliseconds)
            sentinel failover-timeout \(SentinelTopology.masterName) 5000
            sentinel parallel-syncs \(SentinelTopology.masterName) 1

            """
        let file = directory.appendingPathComponent("sentinel.conf").path
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        pid = try ChildProcess.spawn(
            executable: try RedisServer.executable(named: "redis-sentinel", package: "redis-sentinel"),
            arguments: [file])
        let ready = eventually(timeout: 10) { (try? self.cliRaw(["PING"]))?.first == "PONG" }
        if !ready { throw TestSupportError("redis-sentinel on port \(port) did not answer PING within 10 s") }
    }

    public func cliRaw(_ arguments: [String]) throws -> [String] {
        try RedisServer.cliRaw(port: port, arguments)
    }

    public func kill() {
        ChildProcess.kill(pid)
        pid = 0
    }

    public func stop() {
        ChildProcess.stop(pid)
        pid = 0
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
