import Foundation
import Shared

/// A real `redis-server` for one test or suite: its own free port, its own temp dir, killed by PID.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    /// Where it listens: loopback, or a `NetworkLab` host's address.
    public let host: String
    public let directory: URL
    public private(set) var pid: pid_t = 0
    private let appendOnly: Bool
    private let extraArguments: [String]
    /// What runs the server elsewhere: a `NetworkLab` host's `ip netns exec`, or nothing.
    private let launcher: [String]

    /// Starts the server and waits until it answers PING. `extraArguments` go on its command line
    /// (`--replicaof 127.0.0.1 <port>` makes a replica). `host` and `launcher` put it on a host of
    /// a `NetworkLab`.
    public init(
        appendOnly: Bool = false, extraArguments: [String] = [], host: String = "127.0.0.1", launcher: [String] = []
    ) throws {
        self.port = try FreePort.take()
        self.host = host
        self.launcher = launcher
        self.directory = try TempDirectory.make(prefix: "mimic-redis")
        self.appendOnly = appendOnly
        self.extraArguments = extraArguments
        try start()
    }

    public func start() throws {
        try start(appendOnly: appendOnly)
    }

    private func start(appendOnly: Bool) throws {
        var arguments = [
            "--port", "\(port)", "--bind", host, "--dir", directory.path,
            "--save", "", "--daemonize", "no", "--loglevel", "warning",
            // Protected mode refuses every client off loopback when no password is set; a
            // `NetworkLab` host's Redis is reached on the lab's private network.
            "--protected-mode", host == "127.0.0.1" ? "yes" : "no",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        if appendOnly { arguments += ["--appendonly", "yes", "--appendfsync", "always"] }
        arguments += extraArguments
        let command = launcher + [try Self.executable()] + arguments
        pid = try ChildProcess.spawn(executable: command[0], arguments: Array(command.dropFirst()))
        try waitUntilReady()
    }

    /// kill -9, as a crash would.
    public func kill() {
        ChildProcess.kill(pid)
        pid = 0
    }

    /// SIGTERM, then SIGKILL after the grace period (a stopped server, SIGSTOP, needs it).
    public func stop() {
        ChildProcess.stop(pid)
        pid = 0
    }

    /// Writes the dataset to an RDB file beside the server's own and returns its path: a backup.
    public func snapshot() throws -> String {
        _ = try cli("SAVE")
        let copy = directory.appendingPathComponent("snapshot-\(UUID().uuidString).rdb").path
        try FileManager.default.copyItem(atPath: directory.appendingPathComponent("dump.rdb").path, toPath: copy)
        return copy
    }

    /// A Redis that lost its last writes, as a restore from a backup (or a restart from an older
    /// AOF) leaves it: kill -9, put `snapshot` back as the dataset, start on the same port. An
    /// append-only server starts from the snapshot without its AOF, then turns AOF on again
    /// (which rewrites it from the restored data).
    public func rollBack(to snapshot: String) throws {
        kill()
        let dump = directory.appendingPathComponent("dump.rdb").path
        try? FileManager.default.removeItem(atPath: dump)
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("appendonlydir"))
        try FileManager.default.copyItem(atPath: snapshot, toPath: dump)
        try start(appendOnly: false)
        if appendOnly {
            _ = try cli("CONFIG", "SET", "appendonly", "yes")
            _ = try cli("CONFIG", "SET", "appendfsync", "always")
        }
    }

    public func pause() { if pid > 0 { Foundation.kill(pid, SIGSTOP) } }
    public func resume() { if pid > 0 { Foundation.kill(pid, SIGCONT) } }

    /// Runs `redis-cli` against this server and returns its stdout, trimmed.
    @discardableResult
    public func cli(_ arguments: String..., db: Int = 0) throws -> String {
        try cli(arguments, db: db)
    }

    public func cli(_ arguments: [String], db: Int = 0) throws -> String {
        try ChildProcess.run(
            executable: "/usr/bin/redis-cli",
            arguments: ["-h", host, "-p", "\(port)", "-n", "\(db)", "--no-raw"] + arguments
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Raw output (no quoting), one value per line.
    public func cliRaw(_ arguments: [String], db: Int = 0) throws -> [String] {
        try Self.cliRaw(host: host, port: port, ["-n", "\(db)"] + arguments)
    }

    /// `redis-cli --raw` against any server (a sentinel too), one value per line.
    static func cliRaw(host: String = "127.0.0.1", port: Int, _ arguments: [String]) throws -> [String] {
        var lines = try ChildProcess.run(
            executable: "/usr/bin/redis-cli",
            arguments: ["-h", host, "-p", "\(port)", "--raw"] + arguments
        )
        .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// A stream's entries, oldest first, each as its field map (`XRANGE key - +`).
    public func streamEntries(_ key: String, db: Int = 0) throws -> [[String: String]] {
        let lines = try cliRaw(["XRANGE", key, "-", "+"], db: db)
        var entries: [[String: String]] = []
        var fields: [String] = []
        func flush() {
            if !fields.isEmpty { entries.append(fields.fieldPairs) }
            fields.removeAll()
        }
        // Raw output flattens entries; an entry id (ms-seq) starts the next one.
        for line in lines {
            if line.range(of: #"^\d{13}-\d+$"#, options: .regularExpression) != nil {
                flush()
            } else {
                fields.append(line)
            }
        }
        flush()
        return entries
    }

    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? ChildProcess.run(
                executable: "/usr/bin/redis-cli", arguments: ["-h", host, "-p", "\(port)", "ping"]))?
                .contains("PONG") == true
            {
                return
            }
            usleep(20_000)
        }
        throw TestSupportError("redis-server on port \(port) did not answer PING within 10 s")
    }

    private static func executable() throws -> String {
        try executable(named: "redis-server", package: "redis-server")
    }

    /// A Redis program from Debian's packages (or a local build).
    static func executable(named name: String, package: String) throws -> String {
        for candidate in ["/usr/bin/\(name)", "/usr/local/bin/\(name)"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestSupportError("\(name) not found: run `make deps` (apt-get install \(package))")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
