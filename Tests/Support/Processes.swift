import Foundation
import Shared
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum TempDirectory {
    /// `make test`'s run id (MIMIC_TEST_RUN) goes into every name, so scripts/check-test-leftovers.sh
    /// finds a process of the run by a temp path on its command line or as its working directory.
    public static func make(prefix: String) throws -> URL {
        let run = ProcessInfo.processInfo.environment["MIMIC_TEST_RUN"].map { "\($0.prefix(16))-" } ?? ""
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(getpid())-\(run)\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

public enum FreePort {
    /// Ports handed out in this process: the kernel may choose a port again once its probe
    /// socket is closed, and a fixture that got one port for two doors failed to start
    /// ("admin.port: same port as http.port").
    private static let handedOut = Mutex<Set<Int>>([])

    /// Binds port 0 on loopback and returns what the kernel chose, never one this process got
    /// before; the socket is closed at once.
    public static func take() throws(SocketFailure) -> Int {
        var port = try PosixSocket.freeLoopbackPort()
        var tries = 1
        while !handedOut.withLock({ $0.insert(port).inserted }), tries < 100 {
            port = try PosixSocket.freeLoopbackPort()
            tries += 1
        }
        return port
    }
}

/// Real child processes for tests: spawned by path, signalled and reaped by PID.
///
/// Spawned with posix_spawn and an empty signal mask with every disposition at its default: the
/// test process runs tests on threads that block nearly every signal, and a child inherits that
/// mask (Foundation's Process passes it on), so a child started that way never saw SIGTERM and
/// outlived `make test` (issue 17). Every child gets only fds 0-2 (and what the caller maps), so a
/// pipe another test is reading does not stay open in an unrelated long-lived child.
public enum ChildProcess {
    /// How long `stop` waits after SIGTERM before it sends SIGKILL.
    public static let defaultGrace: TimeInterval = 5

    /// Starts `executable` with stdout and stderr sent to `logFile` (truncated first; /dev/null
    /// when nil), stdin from /dev/null, `environment` merged over ours, and returns its PID.
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String]? = nil,
        logFile: String? = nil, workingDirectory: String? = nil
    ) throws -> pid_t {
        if Test.current != nil && !MachineGate.isHeld {
            // Without the trait a heavy suite could run next to it and starve its time bounds.
            Issue.record("a test that starts processes needs `.startsProcesses` or `.runsAlone` on its suite")
        }
        return try launch(
            executable: executable, arguments: arguments, environment: environment,
            workingDirectory: workingDirectory
        ) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, logFile ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
    }

    /// The spawn every child of the test support goes through. `fileActions` sets up fds 0-2 and
    /// any others the child needs below `keepFDsBelow`; everything from there up is closed in the
    /// child. `newProcessGroup`: the child leads a group of its own (killed as a whole with -pid).
    public static func launch(
        executable: String, arguments: [String], environment: [String: String]? = nil,
        workingDirectory: String? = nil, newProcessGroup: Bool = false, keepFDsBelow: Int32 = 3,
        fileActions: (inout posix_spawn_file_actions_t) -> Void
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        fileActions(&actions)
        GlibcSpawnExtensions.closeFrom(&actions, keepFDsBelow)
        if let workingDirectory { try GlibcSpawnExtensions.chdir(&actions, workingDirectory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        // Default disposition for every signal that can have another one (ignored ones survive
        // exec). sigaddset refuses glibc's internal signals (32, 33), which glibc handles itself.
        var all = sigset_t()
        sigemptyset(&all)
        for signal in 1..<Int32(65) where signal != SIGKILL && signal != SIGSTOP { sigaddset(&all, signal) }
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let merged = ProcessInfo.processInfo.environment.merging(environment ?? [:]) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        sweepExited()
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestSupportError("posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        children.withLock { $0[pid] = .running }
        return pid
    }

    /// The children spawned here, and how each ended once reaped (the raw wait status). Reaping
    /// is by PID only: the product code in this process waits for its own children the same way.
    private static let children = LockedChildren()

    private enum Known {
        case notOurs
        case running
        /// The raw wait status; -1 when someone else reaped the child.
        case ended(Int32)
    }

    /// What we know of `pid`, reaping it if it is our child and has ended.
    private static func known(_ pid: pid_t) -> Known {
        children.withLock { table -> Known in
            switch table[pid] {
            case nil:
                return .notOurs
            case .ended(let status)?:
                // PIDs are reused (pid_max may be 32768): a live process with this PID is another one.
                if Foundation.kill(pid, 0) == 0 {
                    table[pid] = nil
                    return .notOurs
                }
                return .ended(status)
            case .running?:
                var status: Int32 = 0
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid {
                    table[pid] = .ended(status)
                    return .ended(status)
                }
                if reaped < 0 && errno == ECHILD {
                    // Someone else reaped it (a test calling waitpid itself): ended, status unknown.
                    table[pid] = .ended(-1)
                    return .ended(-1)
                }
                return .running
            }
        }
    }

    /// Forgets a child whose status has been consumed, so the table stays small.
    private static func forget(_ pid: pid_t) { children.withLock { $0[pid] = nil } }

    /// Reaps children that ended without anyone waiting for them (killed by a test, say), so
    /// they do not stay zombies until the test process exits.
    private static func sweepExited() {
        let running = children.withLock { $0.filter { if case .running = $0.value { true } else { false } }.keys }
        for pid in running { _ = known(pid) }
    }

    /// The exit code of a child started here, once it has exited normally; nil while running
    /// or when it died of a signal.
    public static func exitCode(_ pid: pid_t) -> Int32? {
        guard case .ended(let status) = known(pid), status >= 0, status & 0x7f == 0 else { return nil }
        return (status >> 8) & 0xff
    }

    /// Runs to completion and returns stdout; throws on non-zero exit with stderr in the message.
    @discardableResult
    public static func run(executable: String, arguments: [String], stdin: String? = nil) throws -> String {
        let result = try runCapturing(executable: executable, arguments: arguments, stdin: stdin)
        guard result.status == 0 else {
            throw TestSupportError(
                "\(executable) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    /// Runs to completion with `stdin` fed in and stdout and stderr read at the same time (so
    /// neither side stalls on a full pipe). `status`: the exit code, or 128 + the signal.
    public static func runCapturing(executable: String, arguments: [String], stdin: String? = nil)
        throws -> (status: Int32, stdout: String, stderr: String)
    {
        _ = ignoreSIGPIPE
        let input = stdin == nil ? nil : try Pipes.make()
        let out = try Pipes.make()
        let err = try Pipes.make()
        var parentEnds = [out.read, err.read] + (input.map { [$0.write] } ?? [])
        defer { parentEnds.forEach { if $0 >= 0 { close($0) } } }
        let pid: pid_t
        do {
            defer { [out.write, err.write, input?.read].forEach { if let fd = $0 { close(fd) } } }
            pid = try launch(executable: executable, arguments: arguments) { actions in
                if let input {
                    posix_spawn_file_actions_adddup2(&actions, input.read, 0)
                } else {
                    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                }
                posix_spawn_file_actions_adddup2(&actions, out.write, 1)
                posix_spawn_file_actions_adddup2(&actions, err.write, 2)
            }
        }
        var pending = Array((stdin ?? "").utf8)[...]
        var stdoutBytes: [UInt8] = []
        var stderrBytes: [UInt8] = []
        if let input { _ = fcntl(input.write, F_SETFL, fcntl(input.write, F_GETFL) | O_NONBLOCK) }
        // parentEnds: [stdout, stderr, stdin?]; an end is -1 once done with.
        if pending.isEmpty, parentEnds.count == 3 {
            close(parentEnds[2])
            parentEnds[2] = -1
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while parentEnds.contains(where: { $0 >= 0 }) {
            var polled = parentEnds.enumerated().map { index, fd in
                pollfd(fd: fd, events: Int16(index == 2 ? POLLOUT : POLLIN), revents: 0)
            }
            guard poll(&polled, nfds_t(polled.count), -1) >= 0 else {
                if errno == EINTR { continue }
                throw TestSupportError("poll: \(String(cString: strerror(errno)))")
            }
            for (index, entry) in polled.enumerated() where entry.fd >= 0 && entry.revents != 0 {
                if index == 2 {
                    let count = pending.withUnsafeBytes { write(entry.fd, $0.baseAddress, $0.count) }
                    if count > 0 { pending = pending.dropFirst(count) }
                    // Written in full, or the child stopped reading (EPIPE): either way, done.
                    if pending.isEmpty || (count < 0 && errno != EAGAIN) {
                        close(entry.fd)
                        parentEnds[2] = -1
                    }
                    continue
                }
                let count = read(entry.fd, &chunk, chunk.count)
                if count > 0 {
                    if index == 0 { stdoutBytes += chunk[..<count] } else { stderrBytes += chunk[..<count] }
                } else if count == 0 || errno != EINTR {
                    close(entry.fd)
                    parentEnds[index] = -1
                }
            }
        }
        guard waitForExit(pid, timeout: 600), case .ended(let status) = known(pid), status >= 0 else {
            throw TestSupportError("\(executable): lost its exit status")
        }
        forget(pid)
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, String(decoding: stdoutBytes, as: UTF8.self), String(decoding: stderrBytes, as: UTF8.self))
    }

    /// A write to a pipe whose reader is gone must fail with EPIPE, not end the test process.
    private static let ignoreSIGPIPE: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// Alive: not yet ended (a child of ours that ended is reaped here; a zombie is not alive).
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        switch known(pid) {
        case .running: return true
        case .ended: return false
        case .notOurs: return Foundation.kill(pid, 0) == 0 && !isZombie(pid)
        }
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Sends `signal` to any process (a test also signals the workers a listener started).
    public static func signal(_ pid: pid_t, _ signal: Int32) {
        guard pid > 0 else { return }
        Foundation.kill(pid, signal)
    }

    /// A child of ours that has ended and been reaped: its PID may belong to another process by now.
    private static func isReapedChild(_ pid: pid_t) -> Bool {
        if case .ended = known(pid) { true } else { false }
    }

    /// Waits until `pid` has ended, reaping it when it is our child.
    @discardableResult
    public static func waitForExit(_ pid: pid_t, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if !isAlive(pid) { return true }
            if Date() >= deadline { return false }
            usleep(5_000)
        }
    }

    /// SIGTERM, up to `grace` seconds to end, then SIGKILL; reaped either way. True when SIGTERM
    /// was enough.
    @discardableResult
    public static func stop(_ pid: pid_t, grace: TimeInterval = defaultGrace) -> Bool {
        guard pid > 0, !isReapedChild(pid) else { return true }
        signal(pid, SIGTERM)
        // A child a test stopped (SIGSTOP) only acts on SIGTERM once it runs again.
        signal(pid, SIGCONT)
        if waitForExit(pid, timeout: grace) { return true }
        kill(pid)
        return false
    }

    /// SIGKILL and reap, as a crash would end it.
    public static func kill(_ pid: pid_t) {
        guard pid > 0, !isReapedChild(pid) else { return }
        signal(pid, SIGKILL)
        waitForExit(pid, timeout: 10)
    }
}

enum ChildState {
    case running
    /// The raw wait status; -1 when someone else reaped the child.
    case ended(Int32)
}

final class LockedChildren: @unchecked Sendable {
    private let lock = NSLock()
    private var children: [pid_t: ChildState] = [:]

    func withLock<T>(_ body: (inout [pid_t: ChildState]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&children)
    }
}

/// Pipes whose ends are not inherited by children spawned elsewhere in this process.
enum Pipes {
    static func make() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestSupportError("pipe: \(String(cString: strerror(errno)))") }
        // pipe2(O_CLOEXEC) is not in Glibc's module; our own children close every fd from 3 anyway.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
}

/// The glibc (2.34+) posix_spawn file actions that Glibc's Swift module does not declare (they
/// are behind _GNU_SOURCE), looked up at run time.
enum GlibcSpawnExtensions {
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)  // RTLD_DEFAULT
    }

    private static let addClosefrom = symbol("posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddClosefrom.self) }
    private static let addChdir = symbol("posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }

    /// Closes every fd from `lowest` up in the child; without it (old glibc) the O_CLOEXEC flags
    /// set here are all there is.
    static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) {
        _ = addClosefrom?(&actions, lowest)
    }

    static func chdir(_ actions: inout posix_spawn_file_actions_t, _ path: String) throws {
        guard let addChdir else { throw TestSupportError("this glibc cannot set a child's working directory") }
        let result = addChdir(&actions, path)
        guard result == 0 else { throw TestSupportError("chdir \(path): \(String(cString: strerror(result)))") }
    }
}

/// Where `swift build` put the project's executables (`mimic-worker`, `mimic-listener`, `mimicctl`).
public enum BuiltProducts {
    public static func path(_ name: String) throws -> String {
        var candidates: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["MIMIC_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: dir))
        }
        // The test bundle sits in the same bin directory as the executables.
        var url = Bundle.main.bundleURL
        for _ in 0..<3 {
            candidates.append(url)
            url = url.deletingLastPathComponent()
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        for dir in candidates {
            let file = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: file) { return file }
        }
        throw TestSupportError("\(name) not built: run `swift build` first (looked in \(candidates.map(\.path)))")
    }

    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
}
