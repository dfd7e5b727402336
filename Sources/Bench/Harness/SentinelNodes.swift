import Foundation
import Glibc
import Shared

/// A replicated Redis on loopback for the master-kill figure of issue 14: one `redis-server`
/// master with appendonly, its replicas, and three `redis-sentinel` processes monitoring them as
/// `mimic` with quorum 2 and a short `down-after-milliseconds`. Its own temp dir and ports, every
/// process stopped by its pid (as `Tests/Support/SentinelTopology.swift`, which the bench cannot
/// link).
///
/// Two replicas by default: with `redis.wait: { replicas: 1 }` the promoted replica must still
/// have a replica of its own, or nothing is acknowledged after the failover (README, "Sentinel /
/// failover"), and the figure would measure a stall, not a failover.
final class SentinelNodes: @unchecked Sendable {
    static let masterName = "mimic"

    let directory: String
    let downAfterMillis: Int
    let failoverTimeoutMillis: Int
    /// The first is the master the topology starts with; the others replicate it.
    let serverPorts: [Int]
    let sentinelPorts: [Int]
    private var servers: [Int: ManagedProcess] = [:]
    private var sentinels: [ManagedProcess] = []

    init(replicas: Int = 2, sentinels: Int = 3, downAfterMillis: Int = 1000, failoverTimeoutMillis: Int = 5000) throws {
        directory = NSTemporaryDirectory() + "mimic-bench-sentinel-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        self.downAfterMillis = downAfterMillis
        self.failoverTimeoutMillis = failoverTimeoutMillis
        serverPorts = try (0...replicas).map { _ in try PosixSocket.freeLoopbackPort() }
        sentinelPorts = try (0..<sentinels).map { _ in try PosixSocket.freeLoopbackPort() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var initialMasterPort: Int { serverPorts[0] }

    /// Starts the servers and the sentinels and waits until the replicas are linked and every
    /// sentinel sees the others and the replicas (before that a failover finds no quorum).
    func start() throws {
        for (index, port) in serverPorts.enumerated() {
            let dir = directory + "/redis-\(port)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // No diskless-sync delay: a replica links at once instead of after 5 s.
            var arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir,
                "--repl-diskless-sync-delay", "0",
            ]
            if index > 0 { arguments += ["--replicaof", "127.0.0.1", String(initialMasterPort)] }
            servers[port] = try ManagedProcess(
                name: "redis-server \(port)", executable: "/usr/bin/redis-server", arguments: arguments,
                logPath: dir + "/redis.log")
        }
        for port in serverPorts {
            try waitUntil("redis-server on port \(port) answers PING", timeout: 10) {
                (try? RespConnection(port: port).command(["PING"])) != nil
            }
        }
        for port in serverPorts.dropFirst() {
            try waitUntil("the replica on port \(port) links to its master", timeout: 15) {
                (try? RespConnection(port: port).command(["INFO", "replication"]).string)?
                    .contains("master_link_status:up") == true
            }
        }
        for port in sentinelPorts {
            let dir = directory + "/sentinel-\(port)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let config = """
                port \(port)
                bind 127.0.0.1
                daemonize no
                dir \(dir)
                sentinel monitor \(Self.masterName) 127.0.0.1 \(initialMasterPort) 2
                sentinel down-after-milliseconds \(Self.masterName) \(downAfterMillis)
                sentinel failover-timeout \(Self.masterName) \(failoverTimeoutMillis)
                sentinel parallel-syncs \(Self.masterName) 1

                """
            // Sentinel rewrites its config file, so each has its own, writable.
            try config.write(toFile: dir + "/sentinel.conf", atomically: true, encoding: .utf8)
            sentinels.append(
                try ManagedProcess(
                    name: "redis-sentinel \(port)", executable: "/usr/bin/redis-sentinel",
                    arguments: [dir + "/sentinel.conf"], logPath: dir + "/sentinel.log"))
        }
        try waitUntil("the sentinels see each other and the replicas", timeout: 30) {
            sentinelPorts.allSatisfy { port in
                guard
                    let fields = try? RespConnection(port: port).command(["SENTINEL", "master", Self.masterName]).array
                else { return false }
                var pairs: [String: String] = [:]
                for index in stride(from: 0, to: fields.count - 1, by: 2) {
                    if let name = fields[index].string { pairs[name] = fields[index + 1].string }
                }
                return Int(pairs["num-other-sentinels"] ?? "") == sentinelPorts.count - 1
                    && Int(pairs["num-slaves"] ?? "") == serverPorts.count - 1
            }
        }
    }

    /// The body of a `redis:` block that finds the master through these sentinels.
    func redisBlock(db: Int, wait: String?) -> String {
        Self.redisBlock(sentinelPorts: sentinelPorts, db: db, wait: wait)
    }

    static func redisBlock(sentinelPorts: [Int], db: Int, wait: String?) -> String {
        let nodes = sentinelPorts.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", ")
        let waitText = wait.map { ", wait: \($0)" } ?? ""
        return "{ sentinel: { master: \(Self.masterName), nodes: [\(nodes)] }, db: \(db)\(waitText) }"
    }

    /// The master's port as the first answering sentinel names it.
    func masterPort(asking connections: [RespConnection]) -> Int? {
        for connection in connections {
            guard let reply = try? connection.command(["SENTINEL", "get-master-addr-by-name", Self.masterName]).array,
                reply.count == 2, let port = reply[1].string.flatMap({ Int($0) })
            else { continue }
            return port
        }
        return nil
    }

    func masterPort() -> Int? {
        masterPort(asking: sentinelPorts.compactMap { try? RespConnection(port: $0) })
    }

    /// `kill -9` of the server on `port`; returns once it is reaped.
    func kill(port: Int) {
        guard let server = servers[port] else { return }
        Glibc.kill(server.pid, SIGKILL)
        server.process.waitUntilExit()
        servers[port] = nil
    }

    func logTail(bytes: Int = 1200) -> String {
        sentinelPorts.prefix(1).map { port in
            let path = directory + "/sentinel-\(port)/sentinel.log"
            return String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "-").suffix(bytes))
        }.joined()
    }

    /// The first sentinel's lines about the master going down and moving, for a report's note.
    func masterEvents() -> [String] {
        guard let port = sentinelPorts.first,
            let text = try? String(contentsOfFile: directory + "/sentinel-\(port)/sentinel.log", encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").filter { line in
            ["+sdown master", "+odown", "+switch-master", "+failover-end"].contains { line.contains($0) }
        }.map(String.init)
    }

    func shutdown() {
        for sentinel in sentinels { sentinel.stop(grace: 5) }
        sentinels = []
        for server in servers.values { server.stop(grace: 5) }
        servers = [:]
        if ProcessInfo.processInfo.environment["MIMIC_BENCH_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    private func waitUntil(_ what: String, timeout: Double, _ condition: () -> Bool) throws {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while !condition() {
            guard monotonicNanos() < deadline else {
                throw BenchFailure("not within \(timeout) s: \(what) (see \(directory))")
            }
            sleepMillis(20)
        }
    }
}
