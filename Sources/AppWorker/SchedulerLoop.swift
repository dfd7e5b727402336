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
    private var pool: ExecutorPool
    private var applied: (epoch: String, seq: UInt64)?
    private var commitCounter: Int64 = 0
    private var backoff = Backoff.redisReconnect

    init(
        config: AppConfig, settings: ExecutorPool.Settings, store: StateStore, actuator: Actuator, board: StatusBoard,
        logger: Logger,
        isStopping: @escaping @Sendable () -> Bool, webhook: WebhookPublisher? = nil
    ) {
        self.webhook = webhook
        self.config = config
        self.settings = settings
        self.store = store
        self.actuator = actuator
        self.board = board
        self.logger = logger
        self.isStopping = isStopping
        self.pool = ExecutorPool(settings: settings, seed: config.scheduling.seed)
    }

    static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    /// Loads the app's state (waiting for Redis as long as it takes), refills the pools, then
    /// serves the inbox until it is closed. Returns false when stopped before the state loaded.
    func run(inbox: WorkerInbox) async -> Bool {
        guard await start() else { return false }
        for await input in inbox.stream {
            switch input {
            case .frames(let frames, let reply):
                await apply(frames, reply: reply)
                inbox.consumed(frames.count)
            case .schedulerEvent(let event):
                let decision = pool.handle(event, now: Self.now())
                await commit([decision], applied: nil)
            }
            if isStopping() { break }
        }
        return true
    }

    private func start() async -> Bool {
        var snapshot: StateStore.Snapshot?
        var downHosts: Set<String> = []
        while snapshot == nil {
            do {
                let loaded = try await store.load()
                downHosts = try await store.downHosts(config.hosts.map(\.name))
                snapshot = loaded
                markRedis(up: true, error: nil)
            } catch {
                markRedis(up: false, error: error)
                if isStopping() { return false }
                try? await Task.sleep(for: backoff.next())
            }
        }
        guard let snapshot else { return false }
        if !snapshot.inconsistencies.isEmpty {
            logger.warning("repairing state sets", metadata: ["findings": "\(snapshot.inconsistencies)"])
            try? await store.repair(snapshot.executors)
        }
        pool = ExecutorPool(
            settings: settings, executors: snapshot.executors, meta: snapshot.meta,
            seed: config.scheduling.seed, publishedWeights: snapshot.publishedWeights,
            lists: snapshot.lists, downHosts: downHosts)
        applied = snapshot.applied
        commitCounter = snapshot.commit
        board.appendEvents(snapshot.recentEvents)
        // Actions the previous process may have left half done; collected before refilling so the
        // executors created now are not started twice.
        let unfinished = pool.unfinishedActions
        var decision = pool.handle(.replenish(cause: .startup), now: Self.now())
        decision.merge(pool.seedConfiguredLists(now: Self.now()))
        logger.info(
            "state loaded",
            metadata: [
                "executors": "\(snapshot.executors.count)", "applied_seq": "\(applied?.seq ?? 0)",
                "resumed_actions": "\(unfinished.count)",
            ])
        guard await commit([decision], applied: nil) else { return false }
        await actuator.submit(unfinished)
        board.publish(pool: pool, applied: applied)
        return true
    }

    private func apply(_ frames: [InboundFrame], reply: ReplyChannel) async {
        var cursor = AppliedCursor(applied)
        var decisions: [Decision] = []
        var refusals: [WorkerRefusal] = []
        let now = Self.now()
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
                decisions.append(decide(frame.message, seq: frame.seq, now: now))
                cursor.advance(epoch: frame.epoch, seq: frame.seq)
            }
        }
        if !decisions.isEmpty {
            guard await commit(decisions, applied: cursor.position) else { return }
        }
        // Replays alone are acknowledged too: the listener may have lost the ack with a connection.
        if let position = cursor.position, frames.contains(where: { $0.epoch == position.epoch }) {
            reply.sendAck(position.seq)
        }
        for refusal in refusals { reply.send(refusal) }
    }

    private func decide(_ message: CheckedMessage, seq: UInt64, now: Int64) -> Decision {
        switch message {
        case .valid(let envelope, let body):
            if let app = envelope.app, app != config.app {
                return Self.rejection(
                    cause: envelope.id, reason: "message for app '\(app)' delivered to '\(config.app)'")
            }
            return pool.handle(.message(body, cause: envelope.id), now: now)
        case .invalid(let id, let reason):
            logger.warning("rejected message", metadata: ["seq": "\(seq)", "id": "\(id ?? "-")", "error": "\(reason)"])
            return Self.rejection(cause: id ?? "seq-\(seq)", reason: "message rejected: \(reason)")
        }
    }

    private static func rejection(cause: String, reason: String) -> Decision {
        var decision = Decision()
        decision.notes.append(.init(executor: nil, reason: reason, cause: cause))
        return decision
    }

    /// Commits decisions (and the applied cursor) in one transaction, retrying through a Redis
    /// outage until it succeeds; acknowledgements wait meanwhile, so the listener's journal holds
    /// what is not yet committed. Returns false only when the worker is stopping.
    @discardableResult
    private func commit(_ decisions: [Decision], applied newApplied: (epoch: String, seq: UInt64)?) async -> Bool {
        let now = Self.now()
        var batch = CommitBatch(keys: store.keys)
        var actions: [DriverAction] = []
        for decision in decisions {
            batch.record(decision, now: now)
            actions += decision.actions
            log(decision)
        }
        let publication = pool.onlinePublication(app: config.app)
        guard !batch.isEmpty || publication != nil || newApplied != nil else { return true }
        commitCounter += 1
        batch.finish(pool: pool, publication: publication, applied: newApplied, commit: commitCounter)
        while true {
            do {
                try await store.commit(batch)
                markRedis(up: true, error: nil)
                break
            } catch {
                markRedis(up: false, error: error)
                if isStopping() { return false }
                try? await Task.sleep(for: backoff.next())
                // The connection may have broken after EXEC ran; never apply a batch twice.
                if (try? await store.isCommitted(commitCounter)) == true {
                    markRedis(up: true, error: nil)
                    break
                }
            }
        }
        if let newApplied { applied = newApplied }
        board.appendEvents(batch.events)
        board.publish(pool: pool, applied: applied)
        if let publication, let webhook { await webhook.publish(publication) }
        if !actions.isEmpty { await actuator.submit(actions) }
        return true
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
