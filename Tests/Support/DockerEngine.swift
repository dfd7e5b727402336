import Foundation
import Shared

#if canImport(Glibc)
    import Glibc
#endif

/// A real Docker Engine (`dockerd` from Debian's docker.io) for one test: its own data root, exec
/// root, unix socket and pidfile in a temp dir, a TCP API on a free loopback port (what a host
/// probe's `http: …/_ping` reaches), no bridge, no iptables rules, no IP forwarding. dockerd starts
/// its own containerd under the exec root. Containers run with host networking and listen on
/// 127.0.0.1 ports; images are imported from a tiny root filesystem built from busybox-static
/// (nothing is pulled: no registry is reachable). `shutdown()` (also on deinit) removes every
/// container, stops dockerd by its pid and unmounts whatever is left under the temp dir, so no
/// container, mount or network namespace outlives the test.
///
/// Needs root (dockerd mounts and makes namespaces); `make deps` installs docker.io and
/// busybox-static. If dockerd cannot start, `init` throws with its log's tail: the suites fail,
/// they never skip.
public final class DockerEngine: @unchecked Sendable {
    public let directory: URL
    /// The TCP port of the API on 127.0.0.1.
    public let apiPort: Int
    public private(set) var pid: pid_t = 0
    private var isShutDown = false

    public var socketPath: String { directory.appendingPathComponent("docker.sock").path }
    /// What an app file's `docker:` names: the unix socket.
    public var unixEndpoint: String { "unix://\(socketPath)" }
    public var tcpEndpoint: String { "tcp://127.0.0.1:\(apiPort)" }
    public var pingURL: String { "http://127.0.0.1:\(apiPort)/_ping" }
    public var logPath: String { directory.appendingPathComponent("dockerd.log").path }

    public static let dockerd = "/usr/sbin/dockerd"
    public static let busybox = "/bin/busybox"

    public init() throws {
        for (file, package) in [(Self.dockerd, "docker.io"), (Self.busybox, "busybox-static")]
        where !FileManager.default.isExecutableFile(atPath: file) {
            throw TestSupportError(
                "\(file) not found: the real-engine suites need Debian's \(package) (run `make deps`, "
                    + "or apt-get install -y docker.io busybox-static)")
        }
        guard getuid() == 0 else {
            throw TestSupportError("the real-engine suites start their own dockerd, which needs root; run them as root")
        }
        // Short: containerd's socket lives under the exec root, and a unix socket path has to fit
        // in 108 bytes.
        directory = try TempDirectory.make(prefix: "mimic-dkr")
        apiPort = try FreePort.take()
        do {
            try start()
        } catch {
            // What a failed start mounted or spawned goes now, not whenever the object is freed.
            shutdown()
            throw error
        }
    }

    /// Starts dockerd (again, on the same data root: containers from before are still there) and
    /// waits until `/_ping` answers on the unix socket.
    public func start() throws {
        let root = directory.path
        pid = try ChildProcess.spawn(
            executable: Self.dockerd,
            arguments: [
                "--data-root", root + "/data", "--exec-root", root + "/exec", "--pidfile", root + "/dockerd.pid",
                "-H", unixEndpoint, "-H", tcpEndpoint,
                "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
                "--userland-proxy=false", "--log-level=warn",
            ],
            logFile: logPath, workingDirectory: root)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if (try? docker(["version", "--format", "{{.Server.Version}}"])) != nil { return }
            guard ChildProcess.isAlive(pid) else { break }
            usleep(100_000)
        }
        let tail = ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").suffix(15)
        stopDaemon()
        throw TestSupportError(
            "dockerd did not start (the real-engine suites need a Docker Engine running as root with its own "
                + "data root; see README, Tests). The last lines of its log:\n" + tail.joined(separator: "\n"))
    }

    /// SIGTERM to dockerd (it stops its containers and its containerd), SIGKILL after 20 s; the
    /// data root stays, so `start()` brings the same containers back (stopped).
    public func stop() {
        stopDaemon()
    }

    /// kill -9 of dockerd, as a crash would; containerd and the containers' shims stay until
    /// `shutdown()`.
    public func kill() {
        ChildProcess.kill(pid)
        pid = 0
    }

    /// Removes every container, stops dockerd, kills what it left behind (its containerd and
    /// shims, found by this engine's directory on their command lines), unmounts everything
    /// under the directory and deletes it. Idempotent.
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        if pid > 0, let ids = try? docker(["ps", "-aq"]) {
            let all = ids.split(separator: "\n").map(String.init)
            if !all.isEmpty { _ = try? docker(["rm", "-f", "-v"] + all) }
        }
        stopDaemon()
        for leftover in processes(mentioning: directory.path) { ChildProcess.kill(leftover) }
        unmountAll()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { shutdown() }

    private func stopDaemon() {
        guard pid > 0 else { return }
        ChildProcess.stop(pid, grace: 20)
        pid = 0
    }

    // MARK: - The docker CLI against this engine

    /// The client Debian's docker.io installs next to dockerd (same API version), else any on PATH.
    public static var client: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/docker") ? "/usr/bin/docker" : "/usr/local/bin/docker"
    }

    /// Runs `docker -H unix://… <arguments>`; throws with its stderr on a non-zero exit.
    @discardableResult
    public func docker(_ arguments: [String], stdin: String? = nil) throws -> String {
        try ChildProcess.run(executable: Self.client, arguments: ["-H", unixEndpoint] + arguments, stdin: stdin)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    public func docker(_ arguments: String...) throws -> String { try docker(arguments) }

    /// One container as `docker ps -a` shows it.
    public struct Container: Sendable, Equatable {
        public var id: String
        public var name: String
        public var image: String
        public var running: Bool
        public var labels: [String: String]
    }

    /// `docker ps -a` (optionally `--filter label=…`), with each container's labels.
    public func containers(label: String? = nil) throws -> [Container] {
        var arguments = ["ps", "-a", "--no-trunc", "--format", "{{json .}}"]
        if let label { arguments += ["--filter", "label=\(label)"] }
        return try docker(arguments).split(separator: "\n").compactMap { line -> Container? in
            guard let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            var labels: [String: String] = [:]
            for pair in ((row["Labels"] as? String) ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                labels[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return Container(
                id: row["ID"] as? String ?? "", name: row["Names"] as? String ?? "",
                image: row["Image"] as? String ?? "", running: (row["State"] as? String) == "running",
                labels: labels)
        }
    }

    public func container(named name: String) throws -> Container? {
        try containers().first { $0.name == name }
    }

    // MARK: - Images

    /// Imports `tag` from a root filesystem of busybox (static) and `/www/index.html` holding
    /// `page`. Its default command serves /www with busybox httpd on 127.0.0.1:$PORT (or the port
    /// given as its first argument) under a shell that exits on SIGTERM: as PID 1, httpd alone
    /// would ignore SIGTERM and every stop would wait out its grace period.
    public func importImage(_ tag: String, page: String) throws {
        let rootfs = directory.appendingPathComponent("rootfs-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: rootfs) }
        for dir in ["bin", "www", "tmp", "etc"] {
            try FileManager.default.createDirectory(
                at: rootfs.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(
            atPath: Self.busybox, toPath: rootfs.appendingPathComponent("bin/busybox").path)
        for applet in ["sh", "cat", "echo", "ls", "sleep", "httpd", "wget", "kill", "rm"] {
            try FileManager.default.createSymbolicLink(
                atPath: rootfs.appendingPathComponent("bin/\(applet)").path, withDestinationPath: "busybox")
        }
        try page.write(to: rootfs.appendingPathComponent("www/index.html"), atomically: true, encoding: .utf8)
        let serve = """
            #!/bin/sh
            # serve [PORT]: busybox httpd on 127.0.0.1:PORT (default $PORT), stopped by SIGTERM.
            port="${1:-$PORT}"
            /bin/busybox httpd -f -p "127.0.0.1:$port" -h /www &
            child=$!
            trap 'kill $child; exit 0' TERM INT
            wait $child

            """
        let servePath = rootfs.appendingPathComponent("serve").path
        try serve.write(toFile: servePath, atomically: true, encoding: .utf8)
        chmod(servePath, 0o755)
        // `docker import` reads the tarball from a file (the test support's pipes carry text).
        let tarball = directory.appendingPathComponent("rootfs.tar").path
        try ChildProcess.run(executable: "/bin/tar", arguments: ["-C", rootfs.path, "-cf", tarball, "."])
        defer { unlink(tarball) }
        try docker(["import", "--change", #"CMD ["/serve"]"#, tarball, tag])
    }

    /// What a failed expectation should show of this engine: its containers (`docker ps -a`) and
    /// the last lines of dockerd's log. CI prints only part of a long message, so this stays short.
    public func diagnostics(logLines: Int = 12) -> String {
        let containers = (try? docker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"])) ?? "(docker ps failed)"
        let log = ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n")
            .suffix(logLines).joined(separator: "\n")
        return "containers:\n\(containers)\ndockerd log tail:\n\(log)"
    }

    // MARK: - Cleanup helpers

    /// PIDs of live processes whose command line mentions `text` (containerd and its shims name
    /// this engine's directory in their arguments).
    private func processes(mentioning text: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty
            else { return nil }
            let commandLine = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return commandLine.contains(text) ? pid : nil
        }
    }

    /// Mount points under the directory (dockerd's own bind of the data root, overlay layers, the
    /// `netns/default` nsfs mount it leaves behind on exit), deepest first.
    public func mounts() -> [String] {
        Self.mounts(under: directory.path)
    }

    public static func mounts(under prefix: String) -> [String] {
        // Read to the end: String(contentsOfFile:) stops after the first 4 KB of a /proc file, and
        // an engine's overlay mounts make the table longer than that.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return [] }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return [] }
        let table = String(decoding: data, as: UTF8.self)
        let points = table.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            // mountinfo escapes space, tab, newline and backslash as octal.
            let point = String(fields[4]).replacingOccurrences(of: "\\040", with: " ")
            return point == prefix || point.hasPrefix(prefix + "/") ? point : nil
        }
        return points.sorted { $0.count > $1.count }
    }

    private func unmountAll() {
        // A mount can hide another at the same point: repeat until none is left (bounded).
        for _ in 0..<5 {
            let points = mounts()
            if points.isEmpty { return }
            for point in points { _ = umount2(point, Int32(MNT_DETACH)) }
        }
    }
}
