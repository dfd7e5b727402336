import Foundation
import Logging
import Scheduling
import Shared

/// The worker's single consumer: applies frames and driver results to the executor pool, commits
/// each batch to Redis in one transaction and only then acknowledges. Being the only task that
/// touches the pool is what keeps the pool a plain value without locks.
final class SchedulerLoop {
    private let config: AppConfig
    private let settings: ExecutorPool.Settings
    private let store: StateStore
    private let actuator: Actuator
    private let board: StatusBoard
    private let logger: Logger
    private let isStopping: @Sendable () -> Bool
    /// Receives every committed online-set publication (the `brackets.webhook` POST), off the loop.
    private let webhook: WebhookPublisher?
    /// Finds what was captured already (a restarted worker captures only what is missing).
    private let evidence: EvidenceCollector?
    /// Told after each commit that added events; it reads them from the stream itself.
    private let exporter: SyslogExporter?
    private let metrics: WorkerMetrics?
    /// The messages behind recent executor events, for the socket's `why` op.
    private let causes: CauseMessages?
    /// Lists hosts a committed decision asks for (`Decision.listHosts`); nil in tests without drivers.
    private let onlineChecker: OnlineChecker?
    private var pool: ExecutorPool
    private var applied: (epoch: String, seq: UInt64)?
    private var commitCounter: Int64 = 0
    /// Whether the last commit carried a new online set: its PUBLISH runs inside the commit
    /// script, so the set is on the channel when the commit returns.
    private var lastCommitPublished = false
    /// The policy memory as last committed, to write it again only when it changed.
    private var memory = PolicyMemory.empty
    private var deadLetters: Int64 = 0
    private var skipped: Int64 = 0
    private var backoff = Backoff.redisReconnect
    private var attempts = FrameAttempts()
    private let attemptFile: AttemptFile?
    private var inbox: WorkerInbox?
    /// The connection frames last came from (the listener's link), closed after a refused commit.
    private var frameLink: ReplyChannel?
    /// After a refused commit the worker reloaded from Redis: frames still queued were sent for
    /// the old position, so they are dropped until the listener asks `hello` again and replays.
    private var awaitingHello = false
    /// Set when Redis answered that the app's fence is no longer this worker's (cluster mode,
    /// DESIGN section 11): the loop ends without committing or acknowledging anything more, and
    /// the worker exits with status 3.
    private(set) var fenceLost: FenceLost?
    /// Fault injection for the dead-letter tests and the fault battery (`MIMIC_FAULT_TRAP_ID_PREFIX`):
    /// the worker traps while deciding a message whose id starts with it, as a rule defect would.
    private let trapIDPrefix = ProcessInfo.processInfo.environment["MIMIC_FAULT_TRAP_ID_PREFIX"].flatMap {
        $0.isEmpty ? nil : $0
    }

    init(
        config: AppConfig, settings: ExecutorPool.Settings, store: StateStore, actuator: Actuator, board: StatusBoard,
        logger: Logger, attemptFile: AttemptFile?,
        isStopping: @escaping @Sendable () -> Bool, webhook: WebhookPublisher? = nil,
        evidence: EvidenceCollector? = nil, exporter: SyslogExporter? = nil, metrics: WorkerMetrics? = nil,
        causes: CauseMessages? = nil, onlineChecker: OnlineChecker? = nil
    ) {
        self.onlineChecker = onlineChecker
        self.webhook = webhook
        self.causes = causes
        self.exporter = exporter
        self.metrics = metrics
        self.evidence = evidence
        self.config = config
        self.settings = settings
        self.store = store
        self.actuator = actuator
        self.board = board
        self.logger = logger
        self.attemptFile = attemptFile
        self.isStopping = isStopping
        self.pool = ExecutorPool(settings: settings, seed: config.scheduling.seed)
    }

    static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    /// Loads the app's state (waiting for Redis as long as it takes), refills the pools, then
    /// serves the inbox until it is closed. Returns false when stopped before the state loaded.
    func run(inbox: WorkerInbox) async -> Bool {
        self.inbox = inbox
        guard await start() else { return false }
        for await input in inbox.stream {
            switch input {
            case .frames(let frames, let reply):
                await apply(frames, reply: reply)
                inbox.consumed(frames.count)
            case .gap(let gap, let reply):
                await skip(gap, reply: reply)
            case .hello(let reply):
                awaitingHello = false
                frameLink = reply
                reply.send(WorkerHello(epoch: applied?.epoch, seq: applied?.seq ?? 0))
            case .schedulerEvent(let event):
                let decision = pool.handle(event, now: Self.now())
                await commit([decision], applied: nil)
            case .forensics(let outcome):
                await commit([], applied: nil, forensics: [outcome])
            }
            if isStopping() || fenceLost != nil { break }
        }
        // A held ack says what was committed: it goes before the process does.
        frameLink?.flushAcks()
        return true
    }

    private func start() async -> Bool {
        // The claim comes before the load: what this worker builds on must be read under its own
        // fence, and a worker whose token is older never reads, writes or repairs anything.
        guard await claimFence(), let snapshot = await load() else { return false }
        let unfinished = install(snapshot)
        var decision = pool.handle(.replenish(cause: .startup), now: Self.now())
        decision.merge(pool.seedConfiguredLists(now: Self.now()))
        logger.info(
            "state loaded",
            metadata: [
                "executors": "\(snapshot.executors.count)", "applied_seq": "\(applied?.seq ?? 0)",
                "resumed_actions": "\(unfinished.count)",
            ])
        if attempts.through > 0 {
            logger.error(
                "the previous worker died while deciding frames; applying them one at a time",
                metadata: [
                    "through_seq": "\(attempts.through)", "suspect_seq": "\(attempts.suspect)",
                    "deaths": "\(attempts.deaths)",
                ])
        }
        // Before any action is submitted, so a resumed clean waits for its executor's capture.
        await actuator.capture(missingCaptures(snapshot))
        let started = await commit([decision], applied: nil)
        guard started != .stopping, started != .fenced else { return false }
        await actuator.submit(unfinished)
        return true
    }

    /// Executors whose evidence a previous process did not finish keeping: every dirty one without
    /// a manifest for its dirty time, and a cleaning or offline one with a capture directory but no
    /// manifest (released while its capture was under way, so its clean or remove had not started:
    /// the container is as it was). One that is serving again has been cleaned: nothing to keep.
    private func missingCaptures(_ snapshot: StateStore.Snapshot) -> [CaptureRequest] {
        guard let evidence else { return [] }
        var requests: [CaptureRequest] = []
        for executor in pool.executors.values.sorted(by: { $0.id < $1.id }) {
            var since: Int64?
            if executor.state == .dirty {
                if !evidence.isCaptured(executor: executor.id, dirtySince: executor.since) { since = executor.since }
            } else if executor.state == .cleaning || executor.state == .offline {
                since =
                    evidence.layout.captures(app: config.app, executor: executor.id).last { !$0.finished }?.dirtySince
            }
            guard let since else { continue }
            let dirtied = Self.dirtyTransition(of: executor.id, in: snapshot.recentEvents)
            requests.append(
                CaptureRequest(
                    executor: executor.id, variant: executor.variant, host: executor.host, dirtySince: since,
                    cause: dirtied?["cause"] ?? "unknown (the worker restarted)",
                    reason: dirtied?["reason"] ?? executor.reason))
        }
        return requests
    }

    /// The newest event that moved `executor` to dirty, as a field map.
    static func dirtyTransition(of executor: String, in events: [[String]]) -> [String: String]? {
        for fields in events.reversed() {
            var map: [String: String] = [:]
            for index in stride(from: 0, to: fields.count - 1, by: 2) { map[fields[index]] = fields[index + 1] }
            if map["kind"] == "transition", map["executor"] == executor, map["to"] == "dirty" { return map }
        }
        return nil
    }

    /// The captures the transitions of committed decisions call for: one per executor that went
    /// dirty, named by the time it did.
    private func captureRequests(_ decisions: [Decision], now: Int64) -> [CaptureRequest] {
        guard evidence != nil else { return [] }
        var requests: [CaptureRequest] = []
        for decision in decisions {
            for transition in decision.transitions where transition.to == .dirty {
                guard let executor = pool.executors[transition.executor] else { continue }
                requests.append(
                    CaptureRequest(
                        executor: executor.id, variant: executor.variant, host: executor.host,
                        dirtySince: executor.state == .dirty ? executor.since : now, cause: transition.cause,
                        reason: transition.reason))
            }
        }
        return requests
    }

    /// With `--fence`: claims the app's fence, waiting for Redis (and for the replica `redis.wait`
    /// asks for) as long as it takes. False when stopping, or when a newer owner's token is stored.
    private func claimFence() async -> Bool {
        guard let fence = store.fence else { return true }
        while true {
            do {
                let claim = try await store.claimFence()
                markRedis(up: true, error: nil)
                if case .fenced(let stored) = claim {
                    lostFence(stored: stored, refused: "start with fence \(fence)")
                    return false
                }
                logger.notice("fence claimed", metadata: ["fence": "\(fence)"])
                exporter?.fenceClaimed()
                return true
            } catch {
                markRedis(up: false, error: error)
                if isStopping() { return false }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Records that the fence is not this worker's any more and says so; the loop then ends.
    private func lostFence(stored: String, refused what: String) {
        guard let fence = store.fence, fenceLost == nil else { return }
        let lost = FenceLost(app: config.app, refused: what, ours: fence, stored: stored)
        fenceLost = lost
        exporter?.fenceLost()
        logger.error(
            "\(lost.message); nothing more is committed or acknowledged",
            metadata: ["fence": "\(fence)", "stored_fence": "\(stored)"])
    }

    /// Reads the app's state from Redis, waiting for Redis as long as it takes; nil when stopping
    /// or fenced.
    private func load() async -> StateStore.Snapshot? {
        while true {
            do {
                var snapshot = try await store.load()
                let downHosts = try await store.downHosts(config.hosts.map(\.name))
                markRedis(up: true, error: nil)
                if !snapshot.inconsistencies.isEmpty {
                    logger.warning("repairing state sets", metadata: ["findings": "\(snapshot.inconsistencies)"])
                    if case .fenced(let stored)? = try? await store.repair(snapshot.executors) {
                        lostFence(stored: stored, refused: "a state-set repair")
                        return nil
                    }
                }
                if let problem = snapshot.memoryProblem {
                    logger.error("policy memory not loaded; starting without it", metadata: ["problem": "\(problem)"])
                }
                snapshot.downHosts = downHosts
                return snapshot
            } catch {
                markRedis(up: false, error: error)
                if isStopping() { return nil }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Rebuilds the pool from a snapshot; returns the driver actions the previous process (or the
    /// lost commits) left half done, collected before any refill so nothing is started twice.
    private func install(_ snapshot: StateStore.Snapshot) -> [DriverAction] {
        pool = ExecutorPool(
            settings: settings, executors: snapshot.executors, meta: snapshot.meta,
            seed: config.scheduling.seed, publishedWeights: snapshot.publishedWeights,
            lists: snapshot.lists, downHosts: snapshot.downHosts, memory: snapshot.memory)
        applied = snapshot.applied
        commitCounter = snapshot.commit
        memory = pool.policyMemory
        deadLetters = snapshot.deadLetters
        skipped = snapshot.skipped
        attempts = FrameAttempts(resuming: attemptFile?.read(), applied: applied)
        inbox?.keepLines(through: attempts.through)
        board.setCounters(deadLetters: deadLetters, skipped: skipped)
        board.appendEvents(snapshot.recentEvents)
        if let evidence { board.setEvidence(evidence.latestManifests(of: pool.executors.keys.sorted())) }
        board.publish(pool: pool, applied: applied)
        return pool.unfinishedActions
    }

    /// Redis refused a commit: it does not hold the state this worker built on (it lost writes:
    /// an AOF restart, a failover to a lagging replica, a restore). Nothing of the batch was
    /// written and nothing is acknowledged; the worker reloads and has the listener replay from
    /// what Redis holds (its link is closed; the next one starts with `hello`).
    private func reload() async {
        logger.error(
            "commit refused: Redis no longer holds the state this worker built on; reloading and replaying",
            metadata: ["commit": "\(commitCounter)", "applied_seq": "\(applied?.seq ?? 0)"])
        frameLink?.close()
        frameLink = nil
        awaitingHello = true
        guard let snapshot = await load() else { return }
        let unfinished = install(snapshot)
        logger.notice(
            "state reloaded", metadata: ["applied_seq": "\(applied?.seq ?? 0)", "commit": "\(commitCounter)"])
        await actuator.capture(missingCaptures(snapshot))
        await actuator.submit(unfinished)
    }

    private func apply(_ frames: [InboundFrame], reply: ReplyChannel) async {
        guard !awaitingHello else { return }
        frameLink = reply
        // Frames of the range the previous process died in go one per commit, so a death names
        // its frame; the rest as one batch.
        var index = frames.startIndex
        while index < frames.endIndex {
            let end: Int
            if attempts.isCareful(epoch: frames[index].epoch, seq: frames[index].seq) {
                end = index + 1
            } else {
                end =
                    frames[index...].firstIndex { attempts.isCareful(epoch: $0.epoch, seq: $0.seq) }
                    ?? frames.endIndex
            }
            guard await applyBatch(frames[index..<end], reply: reply) else { return }
            index = end
        }
    }

    /// Decides, commits and acknowledges one batch; false when the rest must not be applied (the
    /// commit was refused, or the worker is stopping).
    private func applyBatch(_ frames: ArraySlice<InboundFrame>, reply: ReplyChannel) async -> Bool {
        guard let first = frames.first, let last = frames.last else { return true }
        var cursor = AppliedCursor(applied)
        var decisions: [Decision] = []
        /// Per decision: the message's source and type, and its accept time.
        var origins: [(source: String, type: String, at: Int64?)] = []
        var letters: [DeadLetter] = []
        var refusals: [WorkerRefusal] = []
        var movers: [ValidEnvelope] = []
        attemptFile?.write(attempts.attempt(epoch: first.epoch, from: first.seq, to: last.seq))
        for frame in frames {
            switch cursor.verdict(epoch: frame.epoch, seq: frame.seq) {
            case .replayed:
                continue
            case .gap(let expected):
                refusals.append(
                    WorkerRefusal(
                        error: "seq \(frame.seq) skips ahead of applied seq \(expected - 1) "
                            + "in epoch \(frame.epoch); resend from \(expected)", seq: frame.seq))
                continue
            case .apply:
                if attempts.isDeadLetter(epoch: frame.epoch, seq: frame.seq) {
                    letters.append(deadLetter(frame))
                } else {
                    let decision = decide(frame)
                    if causes != nil, case .valid(let envelope, _) = frame.message,
                        !decision.transitions.isEmpty || decision.notes.contains(where: { $0.executor != nil })
                    {
                        movers.append(envelope)
                    }
                    decisions.append(decision)
                    origins.append(Self.origin(of: frame))
                }
                cursor.advance(epoch: frame.epoch, seq: frame.seq)
            }
        }
        var record = attempts.attempt(epoch: first.epoch, from: first.seq, to: last.seq)
        record.phase = .committing
        attemptFile?.write(record)
        if !decisions.isEmpty || !letters.isEmpty {
            guard await commit(decisions, applied: cursor.position, deadLetters: letters) == .committed else {
                return false
            }
            causes?.remember(movers)
            if let metrics {
                metrics.committed(
                    acceptedAt: origins.compactMap(\.at), now: Self.now(), published: lastCommitPublished)
                // Summed per source and type first: a counter lookup per message was measurable.
                var applied: [String: (source: String, type: String, count: Int, ejected: Int)] = [:]
                for (decision, origin) in zip(decisions, origins) {
                    let ejected = decision.transitions.reduce(0) { $0 + ($1.to == .dirty ? 1 : 0) }
                    let key = origin.source + "\u{1F}" + origin.type
                    var entry = applied[key] ?? (origin.source, origin.type, 0, 0)
                    entry.count += 1
                    entry.ejected += ejected
                    applied[key] = entry
                }
                for entry in applied.values {
                    metrics.applied(source: entry.source, type: entry.type, count: entry.count, ejected: entry.ejected)
                }
                metrics.deadLettered(letters.count)
            }
        }
        // Replays alone are acknowledged too: the listener may have lost the ack with a connection.
        if let position = cursor.position, frames.contains(where: { $0.epoch == position.epoch }) {
            reply.sendAck(position.seq)
            attempts.applied(epoch: position.epoch, through: position.seq)
            inbox?.keepLines(through: attempts.through)
        }
        for refusal in refusals { reply.send(refusal) }
        return true
    }

    /// Seqs the listener no longer has: the app moves past them, loudly (DESIGN section 10).
    private func skip(_ gap: GapFrame, reply: ReplyChannel) async {
        guard !awaitingHello else { return }
        frameLink = reply
        var range = gap
        if let applied, applied.epoch == gap.gap.epoch {
            if gap.gap.to <= applied.seq {
                reply.sendAck(applied.seq)
                return
            }
            guard gap.gap.from <= applied.seq + 1 else {
                reply.send(
                    WorkerRefusal(
                        error: "gap \(gap.gap.from)...\(gap.gap.to) skips ahead of applied seq \(applied.seq) in "
                            + "epoch \(gap.gap.epoch); resend from \(applied.seq + 1)", seq: gap.gap.from))
                return
            }
            range = GapFrame(epoch: gap.gap.epoch, from: applied.seq + 1, to: gap.gap.to, void: gap.isVoid)
        }
        guard await commit([], applied: (range.gap.epoch, range.gap.to), gap: range) == .committed else { return }
        if !range.isVoid {
            logger.error(
                "journal records gone: messages skipped",
                metadata: [
                    "epoch": "\(range.gap.epoch)", "from_seq": "\(range.gap.from)", "to_seq": "\(range.gap.to)",
                    "skipped": "\(range.skipped)",
                ])
        }
        reply.sendAck(range.gap.to)
    }

    /// The message's rules run on its accept time, so a backlog replayed after an outage decides
    /// as the same messages did live (DESIGN section 10); a format-1 record has none.
    private func decide(_ frame: InboundFrame) -> Decision {
        let now = frame.at ?? Self.now()
        switch frame.message {
        case .valid(let envelope, let body):
            if let app = envelope.app, app != config.app {
                return Self.rejection(
                    cause: envelope.id, reason: "message for app '\(app)' delivered to '\(config.app)'")
            }
            if let trapIDPrefix, envelope.id.hasPrefix(trapIDPrefix) {
                fatalError("fault injection: MIMIC_FAULT_TRAP_ID_PREFIX=\(trapIDPrefix)")
            }
            return pool.handle(.message(body, cause: envelope.id), now: now)
        case .invalid(let id, let reason):
            logger.warning(
                "rejected message", metadata: ["seq": "\(frame.seq)", "id": "\(id ?? "-")", "error": "\(reason)"])
            return Self.rejection(cause: id ?? "seq-\(frame.seq)", reason: "message rejected: \(reason)")
        }
    }

    /// A message's source and type as metric labels (`invalid` for one the listener could not read).
    private static func origin(of frame: InboundFrame) -> (source: String, type: String, at: Int64?) {
        switch frame.message {
        case .valid(let envelope, _): (envelope.source.rawValue, envelope.type.rawValue, frame.at)
        case .invalid: ("invalid", "invalid", frame.at)
        }
    }

    private func deadLetter(_ frame: InboundFrame) -> DeadLetter {
        let id: String
        switch frame.message {
        case .valid(let envelope, _): id = envelope.id
        case .invalid(let invalidID, _): id = invalidID ?? "seq-\(frame.seq)"
        }
        logger.error(
            "dead-lettering a frame the worker died on repeatedly",
            metadata: ["seq": "\(frame.seq)", "id": "\(id)", "deaths": "\(attempts.deaths)"])
        return DeadLetter(
            epoch: frame.epoch, seq: frame.seq, id: id, envelope: frame.line.map(Self.envelope(ofFrame:)) ?? "",
            deaths: attempts.deaths)
    }

    /// The envelope inside a frame line the listener wrote (`…,"msg":<envelope>}`); the whole line
    /// when it is not shaped so.
    static func envelope(ofFrame line: [UInt8]) -> String {
        let key = Array("\"msg\":".utf8)
        var end = line.endIndex
        while end > line.startIndex, line[end - 1] == 0x0A || line[end - 1] == 0x0D || line[end - 1] == 0x20 {
            end -= 1
        }
        guard end > line.startIndex, line[end - 1] == UInt8(ascii: "}"),
            let start = line.indices.first(where: { line[$0...].starts(with: key) })
        else { return String(decoding: line[..<end], as: UTF8.self) }
        return String(decoding: line[(start + key.count)..<(end - 1)], as: UTF8.self)
    }

    private static func rejection(cause: String, reason: String) -> Decision {
        var decision = Decision()
        decision.notes.append(.init(executor: nil, reason: reason, cause: cause))
        return decision
    }

    enum CommitOutcome: Equatable {
        case committed
        /// Redis did not hold the predecessor; the worker reloaded (see `reload`).
        case refused
        case stopping
        /// The fence is not this worker's: nothing was written, nothing may be acknowledged, and
        /// the loop ends (see `fenceLost`).
        case fenced
    }

    /// Commits decisions (and the applied cursor, the policy memory, dead letters, a skipped gap)
    /// in one transaction that proves its predecessor, retrying through a Redis outage until it
    /// succeeds; acknowledgements wait meanwhile, so the listener's journal holds what is not yet
    /// committed.
    private enum RanCheck {
        /// It ran (and is durable), or a newer owner holds the fence: final either way.
        case known(StateStore.CommitOutcome)
        case stopping
        /// It did not run, or Redis could not say.
        case notRun
    }

    /// Whether the batch that moves the counter to `number` ran. A fenced answer is final:
    /// whatever ran is not this worker's to acknowledge.
    private func ranCheck(_ number: Int64, applied: (epoch: String, seq: UInt64)?) async -> RanCheck {
        switch try? await store.isCommitted(number, applied: applied) {
        case .ran?:
            guard let durable = await confirmDurable(number) else { return .stopping }
            return .known(durable)
        case .fenced(let stored)?:
            return .known(.fenced(stored: stored))
        case .didNotRun?, nil:
            return .notRun
        }
    }

    @discardableResult
    private func commit(
        _ decisions: [Decision], applied newApplied: (epoch: String, seq: UInt64)?,
        deadLetters letters: [DeadLetter] = [],
        gap: GapFrame? = nil, forensics: [CaptureOutcome] = []
    ) async -> CommitOutcome {
        guard fenceLost == nil else { return .fenced }
        lastCommitPublished = false
        let now = Self.now()
        var batch = CommitBatch(keys: store.keys)
        var actions: [DriverAction] = []
        for decision in decisions {
            batch.record(decision, now: now)
            actions += decision.actions
        }
        for letter in letters { batch.recordDeadLetter(letter, now: now) }
        if let gap { batch.recordGap(gap, now: now) }
        for outcome in forensics { batch.recordForensics(outcome, now: now) }
        let newMemory = pool.policyMemory
        if newMemory != memory { batch.recordPolicy(newMemory) }
        let publication = pool.onlinePublication(app: config.app)
        guard !batch.isEmpty || publication != nil || newApplied != nil else { return .committed }
        let predecessor = StateStore.Predecessor(commit: commitCounter, applied: applied)
        let number = commitCounter + 1
        batch.finish(pool: pool, publication: publication, applied: newApplied, commit: number)
        var outcome = StateStore.CommitOutcome.refused
        while true {
            do {
                let started = ContinuousClock.now
                outcome = try await store.commit(batch, after: predecessor)
                let took = ContinuousClock.now - started
                metrics?.commitTook(nanoseconds: Int64((took / .nanoseconds(1)).rounded()))
                markRedis(up: true, error: nil)
                break
            } catch {
                markRedis(up: false, error: error)
                if isStopping() { return .stopping }
                try? await Task.sleep(for: backoff.next())
                // The connection may have broken after the script ran; never apply a batch twice.
                switch await ranCheck(number, applied: newApplied ?? applied) {
                case .known(let known): outcome = known
                case .stopping: return .stopping
                case .notRun: continue
                }
                break
            }
        }
        // Refused because it already ran: a copy queued in a Redis that was stopped (SIGSTOP) ran
        // when Redis resumed, before this retry. Its effects are exactly this batch's.
        if outcome == .refused {
            switch await ranCheck(number, applied: newApplied ?? applied) {
            case .known(let known): outcome = known
            case .stopping: return .stopping
            case .notRun: break
            }
        }
        if case .fenced(let stored) = outcome {
            // Not `reload`: a newer owner runs the app; this worker must not go on with it.
            lostFence(stored: stored, refused: "commit \(number)")
            return .fenced
        }
        guard outcome == .committed else {
            await reload()
            if fenceLost != nil { return .fenced }
            return isStopping() ? .stopping : .refused
        }
        commitCounter = number
        lastCommitPublished = publication != nil
        // Logged once committed: a refused or fenced batch did not happen (its messages come
        // again), and a flagged executor's publish does not wait for these writes.
        decisions.forEach(log)
        memory = newMemory
        if let newApplied { applied = newApplied }
        if !letters.isEmpty || (gap.map { !$0.isVoid } ?? false) {
            deadLetters += Int64(letters.count)
            if let gap, !gap.isVoid { skipped += Int64(clamping: gap.skipped) }
            board.setCounters(deadLetters: deadLetters, skipped: skipped)
        }
        for outcome in forensics where outcome.manifest != nil {
            board.addEvidence(executor: outcome.request.executor, manifest: outcome.manifestPath)
        }
        board.appendEvents(batch.events)
        if !batch.events.isEmpty { exporter?.eventsCommitted() }
        board.publish(pool: pool, applied: applied)
        if let metrics {
            let snapshot = board.snapshot
            metrics.executors(snapshot.counts)
            metrics.hosts(snapshot.hosts)
        }
        if let publication, let webhook { await webhook.publish(publication) }
        // Captures first: the actor then holds any action on those executors until they are over.
        let captures = captureRequests(decisions, now: now)
        if !captures.isEmpty { await actuator.capture(captures) }
        if !actions.isEmpty { await actuator.submit(actions) }
        let listHosts = decisions.reduce(into: Set<String>()) { $0.formUnion($1.listHosts) }
        if !listHosts.isEmpty { onlineChecker?.checkSoon(hosts: listHosts) }
        return .committed
    }

    /// A batch found to have run on a connection since dropped never had its WAIT: it counts only
    /// once the replicas `redis.wait` asks for have it. Retries until they do. Answers committed,
    /// fenced (the probe found another fence: the batch must not be acknowledged), or nil when
    /// stopping.
    private func confirmDurable(_ commit: Int64) async -> StateStore.CommitOutcome? {
        while true {
            do {
                let probe = try await store.confirmDurable(commit)
                markRedis(up: true, error: nil)
                if case .fenced(let stored) = probe { return .fenced(stored: stored) }
                return .committed
            } catch {
                markRedis(up: false, error: error)
                if isStopping() { return nil }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    private func markRedis(up: Bool, error: (any Error)?) {
        if up { backoff.reset() }
        let reason = error.map { "\($0)" }
        guard board.setRedis(up: up, error: reason) else { return }
        if up {
            logger.notice("redis up")
        } else {
            logger.error("redis down; not acknowledging until it is back", metadata: ["error": "\(reason ?? "")"])
        }
    }

    private func log(_ decision: Decision) {
        for transition in decision.transitions {
            logger.info(
                "transition",
                metadata: [
                    "executor": "\(transition.executor)", "from": "\(transition.from?.rawValue ?? "none")",
                    "to": "\(transition.to?.rawValue ?? "removed")", "reason": "\(transition.reason)",
                    "cause": "\(transition.cause)",
                ])
        }
        for note in decision.notes {
            logger.notice(
                "note",
                metadata: [
                    "executor": "\(note.executor ?? "-")", "reason": "\(note.reason)", "cause": "\(note.cause)",
                ])
        }
    }
}
