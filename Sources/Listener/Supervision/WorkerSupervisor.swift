import Foundation
import Logging
import Shared
import Subprocess
import SystemPackage

/// What `GET /v1/apps` shows about one app's worker process.
struct WorkerProcessStatus: Sendable, Equatable {
    /// running | starting | backoff | stopped | crash_loop | unsupervised
    var state: String
    var pid: Int32?
    var restarts: Int
    var lastExit: String?
    var uptimeSeconds: Double?
}

/// Starts one `mimic-worker` per app, restarts it on exit with backoff and jitter, stops it with
/// SIGTERM then SIGKILL after a grace period.
///
/// Children are started and reaped by swift-subprocess, which watches each through a pidfd.
/// Foundation's `Process` is not used: on Linux it learns of an exit only when a socket it leaves
/// open in the child closes (swift-corelibs-foundation #4795), so a worker wrapper that leaves a
/// child behind hid every later crash, and the app stayed without a worker for good.
actor WorkerSupervisor {
    /// A worker process this supervisor started; `pid` is nil until the launch reports it.
    private struct Child {
        var pid: pid_t?
    }

    private struct Slot {
        var configPath: String
        /// Cluster mode: the fencing token of this instance's lease on the app (`--fence`).
        var fence: UInt64?
        var wanted = true
        var child: Child?
        /// A worker a previous listener started and that still serves the socket.
        var adopted: ProcessIdentity?
        var startedAt: ContinuousClock.Instant?
        var policy = RestartPolicy()
        var restarts = 0
        var lastExit: String?
        var generation = 0
        var restartTask: Task<Void, Never>?
    }

    let workerExecutable: String
    let runDir: String
    let grace: Duration
    /// Where each app's worker log is kept (`<journal_dir>`); nil passes stderr straight through.
    let journalDir: String?
    private let logger: Logger
    private var slots: [String: Slot] = [:]
    /// One per app, kept across restarts: an old worker's lingering drain and a new one's share it.
    private var logs: [String: WorkerLogFile] = [:]
    /// Told the app of every worker started, start and restarts alike (the link connects at once).
    private var launchHandler: (@Sendable (String) -> Void)?

    init(
        workerExecutable: String, runDir: String, journalDir: String? = nil, grace: Duration = .seconds(5),
        logger: Logger
    ) {
        self.workerExecutable = workerExecutable
        self.runDir = runDir
        self.journalDir = journalDir
        self.grace = grace
        self.logger = logger
    }

    /// Finds the worker executable: a path as given, else next to this executable, else in PATH.
    static func resolveExecutable(_ name: String) -> String {
        if name.contains("/") { return name }
        var candidates: [String] = []
        if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((own as NSString).deletingLastPathComponent + "/" + name)
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(dir)/\(name)")
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? name
    }

    var apps: [String] { slots.keys.sorted() }

    /// Supervises `app` (starting it) unless it already is. `fence`: the token of the lease this
    /// instance holds on the app (cluster mode), passed to every worker it starts for the app.
    func add(app: String, configPath: String, fence: UInt64? = nil) async {
        guard slots[app] == nil else { return }
        slots[app] = Slot(configPath: configPath, fence: fence)
        let socket = runDir + "/" + app + ".sock"
        let owner = await SocketOwnerProbe.owner(socketPath: socket)
        // Removed while the socket was being asked (SIGHUP twice in a row): nothing to start.
        guard slots[app] != nil else { return }
        switch owner {
        case .worker(let identity):
            adopt(app, identity)
        case .none:
            spawn(app)
        case .impostor(let listening, let claimed):
            // Not adopted, never signalled; the worker started here refuses the live socket and
            // the app shows crash_loop until the operator removes whatever holds it.
            logger.error(
                "worker socket served by a process that names another pid; not adopted",
                metadata: [
                    "worker_app": .string(app), "socket": .string(socket), "listening_pid": "\(listening)",
                    "claimed_pid": "\(claimed)",
                ])
            spawn(app)
        }
    }

    /// Watches a worker that is not our child: polls until it is gone, then treats that as its exit.
    private func adopt(_ app: String, _ identity: ProcessIdentity) {
        guard var slot = slots[app] else { return }
        slot.generation += 1
        let generation = slot.generation
        slot.adopted = identity
        slot.startedAt = .now
        slots[app] = slot
        logger.info("adopted running worker", metadata: ["worker_app": .string(app), "pid": "\(identity.pid)"])
        Task { [weak self] in
            while identity.isCurrent {
                try? await Task.sleep(for: .milliseconds(200))
            }
            await self?.exited(app: app, generation: generation, reason: "adopted worker exited")
        }
    }

    private func isRunning(_ slot: Slot) -> Bool {
        if slot.child != nil { return true }
        if let identity = slot.adopted { return identity.isCurrent }
        return false
    }

    private func pid(_ slot: Slot) -> Int32? {
        guard isRunning(slot) else { return nil }
        return slot.child?.pid ?? slot.adopted?.pid
    }

    /// Returns once the worker runs with a known pid, or its launch failed: an operator who asked
    /// for a start is answered with what happened.
    func start(app: String) async -> Bool {
        guard var slot = slots[app] else { return false }
        slot.wanted = true
        slot.policy.reset()
        slots[app] = slot
        if slot.child == nil, slot.adopted == nil {
            slots[app]?.restartTask?.cancel()
            spawn(app)
            let generation = slots[app]?.generation
            let deadline = ContinuousClock.now + .seconds(10)
            while slots[app]?.generation == generation, slots[app]?.child != nil, slots[app]?.child?.pid == nil,
                ContinuousClock.now < deadline
            {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        return true
    }

    func stop(app: String) async -> Bool {
        guard slots[app] != nil else { return false }
        slots[app]?.wanted = false
        slots[app]?.restartTask?.cancel()
        await terminate(app)
        return true
    }

    func restart(app: String) async -> Bool {
        guard slots[app] != nil else { return false }
        _ = await stop(app: app)
        return await start(app: app)
    }

    /// Stops `app` and forgets it (removed from apps_dir).
    func remove(app: String) async {
        _ = await stop(app: app)
        slots[app] = nil
    }

    func stopAll() async {
        await withTaskGroup(of: Void.self) { group in
            for app in slots.keys {
                group.addTask { _ = await self.stop(app: app) }
            }
        }
    }

    func status(app: String) -> WorkerProcessStatus? {
        guard let slot = slots[app] else { return nil }
        let uptime = slot.startedAt.map { ContinuousClock.now - $0 }
        let state: String
        if isRunning(slot) {
            state = slot.policy.isCrashLooping(currentUptime: uptime) ? "crash_loop" : "running"
        } else if !slot.wanted {
            state = "stopped"
        } else {
            state = slot.policy.isCrashLooping(currentUptime: nil) ? "crash_loop" : "backoff"
        }
        let pid = pid(slot)
        return WorkerProcessStatus(
            state: state, pid: pid, restarts: slot.restarts, lastExit: slot.lastExit,
            uptimeSeconds: pid != nil ? uptime.map { Double($0.milliseconds) / 1000 } : nil)
    }

    // MARK: Processes

    private func spawn(_ app: String) {
        guard var slot = slots[app], slot.wanted, slot.child == nil, slot.adopted == nil else { return }
        slot.generation += 1
        let generation = slot.generation
        slot.child = Child()
        slot.startedAt = .now
        slots[app] = slot
        var options = PlatformOptions()
        // Its own process group: a terminal's ^C reaches the listener, which stops workers in order.
        options.processGroupID = 0
        var environment: [Environment.Key: String] = [:]
        for (name, value) in Self.workerEnvironment(ProcessInfo.processInfo.environment) {
            if let key = Environment.Key(rawValue: name) { environment[key] = value }
        }
        // Cluster mode: the lease's token goes with every start, restarts included.
        let arguments =
            ["--config", slot.configPath, "--run-dir", runDir] + (slot.fence.map { ["--fence", "\($0)"] } ?? [])
        let configuration = Configuration(
            executable: .path(FilePath(workerExecutable)),
            arguments: Arguments(arguments),
            environment: .custom(environment), platformOptions: options)
        let errorOutput = stderrOutput(app)
        Task { [weak self] in
            let reason: String
            do {
                let result = try await Subprocess.run(
                    configuration, input: .none, output: .currentStandardError, error: errorOutput
                ) { execution in
                    await self?.launched(app: app, generation: generation, pid: execution.processIdentifier.value)
                }
                switch result.terminationStatus {
                case .exited(let code): reason = "exit \(code)"
                case .signaled(let signal): reason = "signal \(signal)"
                }
            } catch {
                await self?.launchFailed(app: app, generation: generation, error: error)
                return
            }
            await self?.exited(app: app, generation: generation, reason: reason)
        }
    }

    /// The write end of a fresh drain into the app's log (closed by Subprocess once the child has
    /// it), or the listener's own stderr when there is no log directory or no pipe.
    private func stderrOutput(_ app: String) -> FileDescriptorOutput {
        guard let journalDir else { return .currentStandardError }
        let log =
            logs[app]
            ?? WorkerLogFile(path: WorkerLogFile.path(journalDir: journalDir, app: app))
        logs[app] = log
        guard let writeEnd = WorkerStderrDrain.start(app: app, log: log) else {
            logger.warning(
                "cannot open a pipe for the worker's stderr; it goes to the listener's stderr only",
                metadata: ["worker_app": .string(app), "errno": "\(errno)"])
            return .currentStandardError
        }
        return .fileDescriptor(FileDescriptor(rawValue: writeEnd), closeAfterSpawningProcess: true)
    }

    /// `handler` is called with the app's name each time a worker process has been started.
    func onLaunch(_ handler: @escaping @Sendable (String) -> Void) {
        launchHandler = handler
    }

    private func launched(app: String, generation: Int, pid: pid_t) {
        guard slots[app]?.generation == generation, slots[app]?.child != nil else { return }
        slots[app]?.child?.pid = pid
        logger.info("worker started", metadata: ["worker_app": .string(app), "pid": "\(pid)"])
        launchHandler?(app)
    }

    private func launchFailed(app: String, generation: Int, error: any Error) {
        guard var slot = slots[app], slot.generation == generation else { return }
        slot.child = nil
        slot.startedAt = nil
        slot.lastExit = "spawn failed: \(error)"
        slots[app] = slot
        logger.error("cannot start worker", metadata: ["worker_app": .string(app), "error": "\(error)"])
        scheduleRestart(app, uptime: .zero, reason: "spawn failed: \(error)")
    }

    /// The Swift runtime's crash reporter, as a worker that traps runs it. A trapping process waits
    /// for its reporter and keeps its socket, so the app has no worker until the report is done;
    /// the default (full symbolication of a 70 MB binary, every thread, registers, images) took
    /// over 30 s on a loaded 2-core machine, and the fault battery's listener restart gave up on
    /// the worker meanwhile. The crashed thread's frames by symbol name take well under a second
    /// and name the defect. An operator's own SWIFT_BACKTRACE wins.
    static let crashReport = "interactive=no,preset=friendly,symbolicate=fast"

    static func workerEnvironment(_ inherited: [String: String]) -> [String: String] {
        var environment = inherited
        if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = crashReport }
        return environment
    }

    private func exited(app: String, generation: Int, reason: String) {
        guard var slot = slots[app], slot.generation == generation else { return }
        let uptime = slot.startedAt.map { ContinuousClock.now - $0 } ?? .zero
        slot.child = nil
        slot.adopted = nil
        slot.startedAt = nil
        slot.lastExit = reason
        slots[app] = slot
        if slot.wanted {
            logger.warning(
                "worker exited; restarting", metadata: ["worker_app": .string(app), "reason": .string(reason)])
            scheduleRestart(app, uptime: uptime, reason: reason)
        } else {
            logger.info("worker stopped", metadata: ["worker_app": .string(app), "reason": .string(reason)])
        }
    }

    private func scheduleRestart(_ app: String, uptime: Duration, reason: String) {
        guard var slot = slots[app], slot.wanted else { return }
        let delay = slot.policy.exited(uptime: uptime, draw: Double.random(in: 0..<1))
        if slot.policy.isCrashLooping(currentUptime: nil) {
            logger.error(
                "worker crash loop",
                metadata: [
                    "worker_app": .string(app), "failures": "\(slot.policy.quickFailures)",
                    "last_exit": .string(reason),
                ])
        }
        slot.restartTask?.cancel()
        slot.restartTask = Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self?.restartAfterBackoff(app)
        }
        slots[app] = slot
    }

    private func restartAfterBackoff(_ app: String) {
        guard let slot = slots[app], slot.wanted, slot.child == nil, slot.adopted == nil else { return }
        slots[app]?.restarts += 1
        spawn(app)
    }

    /// SIGTERM, wait up to the grace period, then SIGKILL; returns once the process is gone.
    private func terminate(_ app: String) async {
        if let identity = slots[app]?.adopted {
            identity.send(SIGTERM)
            let deadline = ContinuousClock.now + grace
            while identity.isCurrent, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            if identity.send(SIGKILL) {
                while identity.isCurrent { try? await Task.sleep(for: .milliseconds(10)) }
            }
            slots[app]?.adopted = nil
            slots[app]?.startedAt = nil
            slots[app]?.generation += 1
            slots[app]?.lastExit = "stopped"
            return
        }
        guard let generation = slots[app]?.generation, slots[app]?.child != nil else { return }
        // The pid is signalled only while this generation's `exited` has not run. Subprocess reaps
        // just before that, and Linux hands pids out in sequence, so it is not another's by then.
        func running() -> Bool { slots[app]?.generation == generation && slots[app]?.child != nil }
        while running(), slots[app]?.child?.pid == nil { try? await Task.sleep(for: .milliseconds(5)) }
        guard running(), let pid = slots[app]?.child?.pid else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while running(), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if running() {
            logger.warning("worker ignored SIGTERM; killing", metadata: ["worker_app": .string(app), "pid": "\(pid)"])
            kill(pid, SIGKILL)
            while running() { try? await Task.sleep(for: .milliseconds(10)) }
        }
        slots[app]?.lastExit = "stopped"
    }
}
