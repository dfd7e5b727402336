import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Shared

/// Wires one app's worker together: the socket, the scheduler loop, the actuator and Redis, and
/// stops them in order on SIGTERM/SIGINT (the batch in hand is committed and acknowledged first).
struct WorkerService: Service {
    let config: AppConfig
    /// The fencing token of `--fence` (cluster mode, DESIGN section 11); nil in one-machine mode.
    var fence: UInt64? = nil

    func run() async throws {
        let logger = Logger(label: "mimic.worker")
        let socket = SocketPath(path: (config.runDir as NSString).appendingPathComponent("\(config.app).sock"))
        do {
            try socket.prepare()
        } catch {
            throw WorkerFailure("\(config.app): \(error.description)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let inbox = WorkerInbox(timers: group.next())
        let redis = RedisClient(settings: config.redis)
        let exporter: SyslogExporter?
        do {
            exporter = try config.logExport.map {
                try SyslogExporter(
                    settings: $0, app: config.app, redis: RedisClient(settings: config.redis), group: group,
                    logger: logger, fence: fence)
            }
        } catch {
            try? await group.shutdownGracefully()
            throw WorkerFailure("\(config.app): log_export.tls: \(error)")
        }
        var exportStatus: (@Sendable () -> LogExportStatus)?
        if let exporter { exportStatus = { exporter.status } }
        let metrics = WorkerMetrics(app: config.app)
        let causes = CauseMessages()
        let board = StatusBoard(app: config.app, logExport: exportStatus, metrics: metrics)
        let stopping = NIOLockedValueBox(false)
        let http = HTTPClient.shared
        let drivers = Self.drivers(for: config, http: http)
        let evidence = EvidenceCollector(config: config)
        let actuator = Actuator(
            app: config.app, drivers: drivers, maxParallel: config.maxParallelActions,
            inbox: inbox, logger: logger, evidence: evidence)
        let webhook = config.brackets.webhook.map { WebhookPublisher(url: $0, logger: logger) }
        let attemptFile = Self.attemptFile(config: config, logger: logger)
        // The socket opens before the loop has loaded the state (Redis may be slow or down), and
        // frames read meanwhile must already keep their lines if the last process died on them.
        // The loop narrows this once it knows what was applied.
        if let died = attemptFile?.read() { inbox.keepLines(through: died.to) }
        let checker = OnlineChecker(drivers: drivers, every: config.reconcileEvery, inbox: inbox, logger: logger)
        let loop = SchedulerLoop(
            config: config, settings: .init(config: config),
            store: StateStore(keys: RedisKeys(app: config.app), redis: redis, fence: fence),
            actuator: actuator, board: board, logger: logger,
            attemptFile: attemptFile,
            isStopping: { stopping.withLockedValue { $0 } }, webhook: webhook, evidence: evidence,
            exporter: exporter, metrics: metrics, causes: causes, onlineChecker: checker)
        // A client of its own: a `why` read never queues behind a commit.
        let inquiry = ExecutorInquiry(
            keys: RedisKeys(app: config.app), settings: .init(config: config),
            redis: RedisClient(settings: config.redis), causes: causes)
        let server: any Channel
        do {
            server = try await AppSocketServer(
                path: socket, board: board, inbox: inbox,
                frameUID: config.listenerUID ?? UInt32(getuid()), inquiry: inquiry, logger: logger
            )
            .start(group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw WorkerFailure("\(config.app): cannot listen on \(socket.path): \(error)")
        }
        logger.info("listening", metadata: ["socket": "\(socket.path)", "pid": "\(getpid())"])
        let monitors = config.hosts.compactMap { host in
            host.probe.map { HostMonitor(host: host.name, probe: $0, http: http, inbox: inbox, logger: logger) }
        }
        // Timer events queue in the inbox until the loop has loaded the state.
        let rotation = RotationClock(scheduling: config.scheduling)
        let clocks = [
            Task { await rotation.run(posting: inbox) },
            Task { await HousekeepingClock().run(posting: inbox) },
        ]
        // Not in the task group below: its cancellation would end the exporter before the pass
        // that sends what the loop's last commit added.
        let exporting = exporter.map { exporter in Task { await exporter.run() } }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                // Probes and the online check only post events; the loop stays the one consumer.
                for monitor in monitors { group.addTask { await monitor.run() } }
                group.addTask { await checker.run() }
                // On the store's Redis thread: each commit then runs inline, not two thread hops
                // away (at a paced rate, where batches are small, the hops were most of the cost).
                _ = await withTaskExecutorPreference(redis.executor) { await loop.run(inbox: inbox) }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            logger.info("stopping: finishing the batch in hand")
            stopping.withLockedValue { $0 = true }
            // No new connections or frames; the loop commits and acknowledges what it holds.
            server.close(promise: nil)
            inbox.close()
        }
        clocks.forEach { $0.cancel() }
        exporter?.stop()
        await exporting?.value
        await webhook?.close()
        try? await server.close()
        unlink(socket.path)
        await redis.close()
        await inquiry.redis.close()
        try? await group.shutdownGracefully()
        // The loop committed and acknowledged nothing after it found the fence taken; the
        // process exits with status 3 (`WorkerCommand`).
        if let lost = loop.fenceLost { throw lost }
        logger.info("stopped")
    }

    /// `<run_dir>/<app>.attempt` (see `AttemptFile`); without it the worker runs on, but a frame it
    /// keeps dying on is not dead-lettered.
    static func attemptFile(config: AppConfig, logger: Logger) -> AttemptFile? {
        let path = (config.runDir as NSString).appendingPathComponent("\(config.app).attempt")
        guard let file = AttemptFile(path: path) else {
            logger.error("cannot open the attempt file; dead-lettering is off", metadata: ["path": "\(path)"])
            return nil
        }
        return file
    }

    static func drivers(for config: AppConfig, http: HTTPClient) -> [String: any Driver] {
        let variants = Dictionary(config.variants.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var drivers: [String: any Driver] = [:]
        for host in config.hosts {
            switch host.driver {
            case .command:
                if let hooks = host.command {
                    drivers[host.name] = CommandDriver(app: config.app, host: host.name, hooks: hooks)
                }
            case .docker:
                drivers[host.name] = DockerDriver(app: config.app, host: host, variants: variants, http: http)
            }
        }
        return drivers
    }
}
