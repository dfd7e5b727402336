import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Shared

/// The apps the listener serves and, per app, its journal and its worker link; routing, submission
/// to journals, reloads and status. Ingress and supervision sit around it.
final class ListenerRuntime: Sendable {
    struct AppChannel: Sendable {
        var journal: any Journal
        /// Nil while the app's worker is not this instance's to feed (cluster mode, not the owner).
        var link: WorkerLink?
        var socketPath: String
        var workerUID: UInt32?
        var logger: Logger
        /// Cluster mode: the app's Redis, read for its published online set while its worker runs
        /// on another instance (alerts by address must reach the app here too).
        var viewReader: RedisClient?

        var linkStatus: LinkStatus { link?.status ?? LinkStatus() }
    }

    private struct State {
        var directory: AppDirectory
        var channels: [String: AppChannel]
        var rates: [String: (accepted: Double, acked: Double)] = [:]
        var lastSample: [String: (accepted: UInt64, acked: UInt64)] = [:]
    }

    let config: ListenerConfig
    let authorizer: Authorizer
    let metrics: ListenerMetrics
    let trends: AppTrends
    var counters: IngressCounters { metrics.ingress }
    let endpointOwners = EndpointOwners()
    let audit: AuditTrail
    let listQuota = ListAddQuota()
    let supervisor: WorkerSupervisor?
    /// Held for the process lifetime: one listener per journal_dir.
    let journalLock: JournalDirectoryLock
    /// Cluster mode: which apps this instance owns, through leases in the cluster Redis.
    private(set) var coordinator: ClusterCoordinator? {
        get { coordinatorBox.withLockedValue { $0 } }
        set { coordinatorBox.withLockedValue { $0 = newValue } }
    }
    private let coordinatorBox = NIOLockedValueBox<ClusterCoordinator?>(nil)
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    init(config: ListenerConfig, apps: [AppConfig], logger: Logger) async throws {
        self.config = config
        self.logger = logger
        self.authorizer = Authorizer(tokens: config.tokens)
        self.trends = AppTrends(interval: config.trendInterval)
        let metrics = ListenerMetrics()
        self.metrics = metrics
        try FileManager.default.createDirectory(
            atPath: config.runDir, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o750])
        // Before any journal is opened: a second listener must not even cut a torn tail.
        self.journalLock = try JournalDirectoryLock(journalDir: config.journalDir)
        self.audit = AuditTrail(journalDir: config.journalDir)
        if let cluster = config.cluster {
            try Self.checkClusterRedis(cluster, apps: apps, config: config)
        }
        var channels: [String: AppChannel] = [:]
        for app in apps {
            channels[app.app] = try await Self.openChannel(
                app: app, config: config, timings: metrics.journalTimings(app: app.app), logger: logger)
        }
        self.state = NIOLockedValueBox(State(directory: AppDirectory(apps: apps), channels: channels))
        self.supervisor =
            config.supervise.enabled
            ? WorkerSupervisor(
                workerExecutable: WorkerSupervisor.resolveExecutable(config.supervise.worker),
                runDir: config.runDir, journalDir: config.journalDir, logger: logger)
            : nil
        if let cluster = config.cluster {
            coordinator = ClusterCoordinator(
                instance: config.instance,
                leases: ClusterLeases(redis: RedisClient(settings: cluster.redis), lease: cluster.lease),
                lease: cluster.lease,
                apps: { [weak self] in self?.appNames ?? [] },
                actions: .init(
                    start: { [weak self] app, token in await self?.takeOver(app: app, token: token) },
                    stop: { [weak self] app in await self?.giveUp(app: app) }),
                logger: logger)
        }
    }

    /// The cluster's leases must not live in an app's DB: each worker owns its DB outright, and
    /// an app may be called `cluster`, whose keys would be the leases' own.
    private static func checkClusterRedis(
        _ cluster: ListenerConfig.Cluster, apps: [AppConfig], config: ListenerConfig
    ) throws {
        for app in apps where app.redis.server == cluster.redis.server && app.redis.db == cluster.redis.db {
            throw ClusterSetupError(
                "\(config.sourceFile): cluster.redis: Redis \(cluster.redis.server) db \(cluster.redis.db) is app "
                    + "\(app.app)'s (\(app.sourceFile)); give the cluster a db of its own")
        }
    }

    private static func openChannel(
        app appConfig: AppConfig, config: ListenerConfig, timings: JournalTimings, logger: Logger
    ) async throws -> AppChannel {
        let app = appConfig.app
        var appLogger = logger
        appLogger[metadataKey: "app"] = .string(app)
        var options = FileJournal.Options(fsync: config.fsync, maxBacklogBytes: config.maxBacklogBytes)
        // The config bounds journal_retain to 30 days: its ms fit Int64 with room to spare.
        options.retention = JournalRetention(
            retainMs: config.journalRetain.components.seconds * 1000
                + config.journalRetain.components.attoseconds / 1_000_000_000_000_000,
            maxBytes: config.journalRetainBytes)
        options.timings = timings
        let socketPath = config.runDir + "/" + app + ".sock"
        guard config.cluster == nil else {
            // Any instance accepts any app's messages: the journal is the app's Redis stream, and
            // the link exists only while this instance owns the app (`takeOver`).
            let journal = try await RedisStreamJournal.open(
                app: app, redis: appConfig.redis, options: RedisStreamJournal.Options(options), logger: appLogger)
            return AppChannel(
                journal: journal, link: nil, socketPath: socketPath, workerUID: appConfig.workerUID, logger: appLogger,
                viewReader: RedisClient(settings: appConfig.redis))
        }
        let journal = try FileJournal.open(
            app: app, directory: config.journalDir + "/" + app, options: options, logger: appLogger)
        var channel = AppChannel(
            journal: journal, link: nil, socketPath: socketPath, workerUID: appConfig.workerUID, logger: appLogger)
        channel.link = makeLink(app: app, channel)
        return channel
    }

    private static func makeLink(app: String, _ channel: AppChannel) -> WorkerLink {
        WorkerLink(
            app: app, socketPath: channel.socketPath, journal: channel.journal,
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: channel.logger,
            workerUID: channel.workerUID)
    }

    /// Cluster mode: this instance took the app's lease. A fresh link forwards from the journal's
    /// acknowledged seq (the worker's hello corrects it from `mimic:{app}:applied`), and the
    /// worker starts with the lease's fencing token.
    private func takeOver(app: String, token: UInt64) async {
        let started: (WorkerLink, AppConfig)? = state.withLockedValue { state in
            guard var channel = state.channels[app], channel.link == nil, let config = state.directory.apps[app]
            else { return nil }
            let link = Self.makeLink(app: app, channel)
            channel.link = link
            state.channels[app] = channel
            return (link, config)
        }
        guard let (link, config) = started else { return }
        link.start()
        await supervisor?.add(app: app, configPath: config.sourceFile, fence: token)
    }

    /// Cluster mode: the app goes to another instance (or its lease is gone). The worker stops
    /// first, gracefully, so the acks of its last batch still reach the journal over the link.
    private func giveUp(app: String) async {
        await supervisor?.remove(app: app)
        let link: WorkerLink? = state.withLockedValue { state in
            let link = state.channels[app]?.link
            state.channels[app]?.link = nil
            return link
        }
        await link?.stop()
    }

    /// Connects every link and starts the workers (supervise mode); in cluster mode the
    /// coordinator does both for the apps this instance comes to own.
    func start() async {
        await supervisor?.onLaunch { [weak self] app in
            self?.state.withLockedValue { $0.channels[app]?.link }?.workerLaunched()
        }
        if let coordinator {
            await coordinator.start()
            return
        }
        let (channels, directory) = state.withLockedValue { ($0.channels, $0.directory) }
        for channel in channels.values { channel.link?.start() }
        if let supervisor {
            for (name, app) in directory.apps.sorted(by: { $0.key < $1.key }) {
                await supervisor.add(app: name, configPath: app.sourceFile)
            }
        }
    }

    /// Stops workers, links and journals (everything accepted is already durable).
    /// In cluster mode the owned apps are handed over first (lease released, so the others need
    /// not wait for it to expire).
    func shutdown() async {
        if let coordinator { await coordinator.leave() }
        if let supervisor { await supervisor.stopAll() }
        let channels = state.withLockedValue { $0.channels }
        for channel in channels.values {
            await channel.link?.stop()
            await channel.journal.finish()
            await channel.viewReader?.close()
        }
    }

    /// SIGHUP: new apps start, removed apps stop, the others keep their process and connection.
    func reload(apps: [AppConfig]) async {
        let current = state.withLockedValue { Set($0.channels.keys) }
        let wanted = Set(apps.map(\.app))
        var added: [String: AppChannel] = [:]
        for app in apps where !current.contains(app.app) {
            do {
                added[app.app] = try await Self.openChannel(
                    app: app, config: config, timings: metrics.journalTimings(app: app.app), logger: logger)
            } catch {
                logger.error(
                    "cannot open journal of new app", metadata: ["new_app": .string(app.app), "error": "\(error)"])
            }
        }
        let removed: [String: AppChannel] = state.withLockedValue { state in
            var removed: [String: AppChannel] = [:]
            for name in current.subtracting(wanted) { removed[name] = state.channels.removeValue(forKey: name) }
            state.channels.merge(added) { old, _ in old }
            state.directory = AppDirectory(apps: apps.filter { state.channels[$0.app] != nil })
            return removed
        }
        for (name, channel) in removed {
            if let supervisor { await supervisor.remove(app: name) }
            await channel.link?.stop()
            await channel.journal.finish()
            await channel.viewReader?.close()
            metrics.forget(app: name)
        }
        // Cluster mode: the coordinator takes the added apps when their lease comes to this instance.
        for (name, channel) in added where coordinator == nil {
            channel.link?.start()
            if let supervisor, let app = apps.first(where: { $0.app == name }) {
                await supervisor.add(app: name, configPath: app.sourceFile)
            }
        }
        logger.info(
            "apps reloaded", metadata: ["added": "\(added.keys.sorted())", "removed": "\(removed.keys.sorted())"])
    }

    var intake: EnvelopeIntake {
        EnvelopeIntake(
            maxMessageBytes: config.maxMessageBytes, authorizer: authorizer,
            directory: state.withLockedValue { $0.directory }, owners: endpointOwners, listQuota: listQuota)
    }

    /// Records the operator messages among `messages`, once they are in the journal.
    func auditAccepted(_ messages: some Sequence<IntakeMessage>, token: Int) {
        for message in messages {
            guard let action = message.audit else { continue }
            audit.record(
                token: authorizer.tokenName(token), app: message.app, action: action.action, id: message.id,
                detail: action.detail)
        }
    }

    /// Asks every worker for its executors, so an alert by `ip:port` reaches the app that owns it.
    func refreshEndpointOwners() async {
        for app in appNames {
            guard let channel = channel(for: app) else { continue }
            if channel.link == nil, let reader = channel.viewReader {
                guard let text = try? await reader.command(["GET", RedisKeys(app: app).onlineView]).string,
                    let view = try? JSONDecoder().decode(OnlineView.self, from: Data(text.utf8))
                else { continue }
                endpointOwners.update(app: app, endpoints: view.online.map(\.endpoint))
                continue
            }
            // A worker the link cannot reach would not answer this either.
            guard channel.linkStatus.connected else { continue }
            guard
                case .success(let lines) = await WorkerSocketQuery.ask(
                    socketPath: channel.socketPath, ops: [.executors]),
                let first = lines.first,
                case .success(let answer) = SocketOp.executors.read(WorkerExecutors.self, from: first)
            else { continue }
            endpointOwners.update(app: app, executors: answer.executors)
        }
        let current = Set(appNames)
        for app in endpointOwners.apps where !current.contains(app) { endpointOwners.forget(app: app) }
    }

    var appNames: [String] { state.withLockedValue { $0.channels.keys.sorted() } }

    func journal(for app: String) -> (any Journal)? { state.withLockedValue { $0.channels[app]?.journal } }

    func channel(for app: String) -> AppChannel? { state.withLockedValue { $0.channels[app] } }

    static func describe(_ rejection: JournalRejection, app: String) -> (Int, String) {
        switch rejection {
        case .backlogFull(let limit):
            return (503, "backlog of app '\(app)' is full (max_backlog_bytes \(limit)); retry later")
        case .closed:
            return (503, "app '\(app)' is shutting down; retry later")
        case .storage(let reason):
            // The journal rolled the failed write back and tries the disk again shortly (disk
            // full, I/O error): the sender retries, and its retry is appended anew.
            return (503, "journal of app '\(app)' cannot write (\(reason)); retry later")
        }
    }

    /// Appends all messages (possibly of several apps) or none; answers after they are durable.
    func submit(_ messages: [IntakeMessage]) async -> Result<Void, IntakeRejection> {
        var order: [String] = []
        var byApp: [String: [JournalEntry]] = [:]
        for message in messages {
            if byApp[message.app] == nil { order.append(message.app) }
            byApp[message.app, default: []].append(message.entry)
        }
        var journals: [(String, any Journal)] = []
        for app in order {
            guard let journal = journal(for: app) else {
                return .failure(IntakeRejection(status: 404, message: "app: unknown app '\(app)'"))
            }
            journals.append((app, journal))
        }
        if journals.count == 1 {
            let (app, journal) = journals[0]
            switch await journal.append(byApp[app]!) {
            case .success: return .success(())
            case .failure(let rejection):
                let (status, message) = Self.describe(rejection, app: app)
                return .failure(IntakeRejection(status: status, message: message))
            }
        }
        // Several apps: reserve room in every journal first, so none is appended unless all can be.
        var reserved: [(any Journal, Int)] = []
        for (app, journal) in journals {
            let bytes = byApp[app]!.reduce(0) { $0 + $1.recordSize }
            if case .failure(let rejection) = journal.reserve(bytes) {
                for (done, amount) in reserved { done.release(amount) }
                let (status, message) = Self.describe(rejection, app: app)
                return .failure(IntakeRejection(status: status, message: message))
            }
            reserved.append((journal, bytes))
        }
        // Each part is appended HELD: durable, not forwarded. Only when every part is durable are
        // the holds released; if one journal fails, the parts the others made durable are voided
        // (a durable marker, their keys given back, forwarded as void gaps) before the 503 goes
        // out, so the sender's retry is appended anew everywhere and takes effect once.
        let results = await withTaskGroup(of: (Int, Result<AppendReceipt, JournalRejection>).self) { group in
            for (index, (app, journal)) in journals.enumerated() {
                let entries = byApp[app]!
                let bytes = reserved[index].1
                group.addTask { (index, await journal.append(entries, reserved: bytes, held: true)) }
            }
            var results: [Int: Result<AppendReceipt, JournalRejection>] = [:]
            for await (index, result) in group { results[index] = result }
            return results
        }
        var failure: IntakeRejection?
        for (index, (app, _)) in journals.enumerated() {
            if case .failure(let rejection) = results[index], failure == nil {
                let (status, message) = Self.describe(rejection, app: app)
                failure = IntakeRejection(status: status, message: message)
            }
        }
        for (index, (app, journal)) in journals.enumerated() {
            guard case .success(let receipt) = results[index], let held = receipt.held else { continue }
            if failure == nil {
                journal.releaseHold(held)
            } else {
                let voided = await journal.void(held)
                logger.warning(
                    "multi-app request failed in another journal; its part here is voided",
                    metadata: [
                        "void_app": .string(app), "from": "\(held.lowerBound)", "to": "\(held.upperBound)",
                        "marker_written": "\(voided)",
                    ])
            }
        }
        return failure.map { .failure($0) } ?? .success(())
    }

    // MARK: Status

    /// Samples journal counters once a second for the message rates.
    func sampleRates() {
        let channels = state.withLockedValue { $0.channels }
        var samples: [String: (UInt64, UInt64)] = [:]
        for (name, channel) in channels {
            let snapshot = channel.journal.snapshot()
            samples[name] = (snapshot.appendedTotal + snapshot.duplicatesTotal, channel.linkStatus.ackedTotal)
        }
        state.withLockedValue { state in
            for (name, sample) in samples {
                if let previous = state.lastSample[name] {
                    state.rates[name] = (Double(sample.0 &- previous.accepted), Double(sample.1 &- previous.acked))
                }
                state.lastSample[name] = (sample.0, sample.1)
            }
        }
    }

    func appStatus(_ name: String) async -> AppStatus? {
        guard let channel = channel(for: name) else { return nil }
        let journal = channel.journal.snapshot()
        let link = channel.linkStatus
        let rates = state.withLockedValue { $0.rates[name] } ?? (accepted: 0, acked: 0)
        var worker: AppStatus.Worker
        var owner: String? = config.instance
        if let coordinator { owner = await coordinator.owners()[name] }
        if coordinator != nil, owner != config.instance {
            worker = AppStatus.Worker(
                connected: false, connects: link.connects, state: "remote", pid: nil, restarts: 0, lastExit: nil,
                up: owner != nil)
        } else if let supervisor, let status = await supervisor.status(app: name) {
            worker = AppStatus.Worker(
                connected: link.connected, connects: link.connects, state: status.state,
                pid: status.pid.map { Int($0) },
                restarts: status.restarts, lastExit: status.lastExit,
                up: status.state == "running" || (status.state == "crash_loop" && status.pid != nil))
            worker.refusedOwner = link.refusedOwner
        } else {
            worker = AppStatus.Worker(
                connected: link.connected, connects: link.connects, state: "unsupervised", pid: nil,
                restarts: 0, lastExit: nil, up: link.connected)
            worker.refusedOwner = link.refusedOwner
        }
        var status = AppStatus(
            app: name, worker: worker,
            journal: AppStatus.Journal(
                epoch: journal.epoch, lastSeq: journal.lastSeq,
                backlogMessages: journal.backlogMessages, backlogBytes: journal.backlogBytes,
                segments: journal.segments, skipped: journal.skippedTotal),
            lastDeliveredSeq: max(link.lastDeliveredSeq, journal.ackedSeq), lastAckedSeq: journal.ackedSeq,
            rates: AppStatus.Rates(acceptedPerSecond: rates.accepted, ackedPerSecond: rates.acked))
        status.owner = owner
        return status
    }

    /// The fleet's exposition: the listener's series, set from what it sees now, then every
    /// worker's (asked over its socket), each family once.
    func metricsText() async -> String {
        var workers: [String] = []
        // Cluster mode: 1 on the instance holding the app's lease; summed over the instances it
        // must be 1 per app (0: nobody applies its messages).
        let owned = await coordinator?.ownedApps
        for name in appNames {
            if let owned { metrics.set("mimic_listener_app_owned", app: name, to: owned.contains(name) ? 1 : 0) }
            guard let channel = channel(for: name) else { continue }
            let journal = channel.journal.snapshot()
            let link = channel.linkStatus
            metrics.set("mimic_listener_journal_last_seq", app: name, to: Int(clamping: journal.lastSeq))
            metrics.set("mimic_listener_acked_seq", app: name, to: Int(clamping: journal.ackedSeq))
            metrics.set("mimic_listener_delivered_seq", app: name, to: Int(clamping: link.lastDeliveredSeq))
            metrics.set("mimic_listener_backlog_messages", app: name, to: journal.backlogMessages)
            metrics.set("mimic_listener_backlog_bytes", app: name, to: journal.backlogBytes)
            metrics.set("mimic_listener_worker_connected", app: name, to: link.connected ? 1 : 0)
            metrics.set(counter: "mimic_listener_journal_skipped_total", app: name, to: journal.skippedTotal)
            if let supervisor, let status = await supervisor.status(app: name) {
                metrics.set(
                    counter: "mimic_listener_worker_restarts_total", app: name, to: UInt64(clamping: status.restarts))
            }
            // Messages that had no effect (DESIGN section 10), as the worker counts them in Redis;
            // a worker that does not answer keeps its last values. The worker's own metrics
            // (issue 18) come with the same round trip.
            guard
                case .success(let answers) = await WorkerSocketQuery.ask(
                    socketPath: channel.socketPath, ops: [.status, .metrics])
            else { continue }
            if let answer = answers.first,
                case .success(let worker) = SocketOp.status.read(WorkerStatus.self, from: answer)
            {
                metrics.set(
                    counter: "mimic_worker_dead_letters_total", app: name, to: UInt64(clamping: worker.deadLetters))
                metrics.set(counter: "mimic_worker_skipped_total", app: name, to: UInt64(clamping: worker.skipped))
            }
            if answers.count > 1,
                case .success(let worker) = SocketOp.metrics.read(WorkerMetricsAnswer.self, from: answers[1])
            {
                workers.append(worker.metrics)
            }
        }
        var fleet = FleetMetricsText()
        fleet.add(metrics.text())
        for text in workers { fleet.add(text) }
        return fleet.text
    }
}

struct ClusterSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
