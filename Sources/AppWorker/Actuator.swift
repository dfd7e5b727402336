import Logging
import Scheduling
import Shared

/// Runs driver actions after their decisions are committed: at most `maxParallel` at once, each
/// retried with backoff, results posted back to the scheduler loop as events. A hung hook holds
/// one slot until its timeout, never the loop or the acks.
///
/// It also captures the evidence of executors that went dirty, and holds every action on an
/// executor (its clean, its remove) until that executor's capture is over: finished, failed or
/// timed out (`forensics.timeout`). Captures take no action slot, so a slow one delays only the
/// executor it is about.
actor Actuator {
    private let app: String
    private let drivers: [String: any Driver]
    private let maxParallel: Int
    private let attempts: Int
    private let retryDelay: Duration
    private let inbox: WorkerInbox
    private let logger: Logger
    private var running = 0
    private var queue: [DriverAction] = []
    private var known: Set<DriverAction> = []
    private let evidence: EvidenceCollector?
    /// Executors whose capture runs; their actions wait in the queue.
    private var capturing: Set<String> = []

    init(
        app: String, drivers: [String: any Driver], maxParallel: Int, inbox: WorkerInbox, logger: Logger,
        attempts: Int = 3, retryDelay: Duration = .milliseconds(500), evidence: EvidenceCollector? = nil
    ) {
        self.evidence = evidence
        self.app = app
        self.drivers = drivers
        self.maxParallel = max(1, maxParallel)
        self.attempts = max(1, attempts)
        self.retryDelay = retryDelay
        self.inbox = inbox
        self.logger = logger
    }

    /// Queues actions; one already queued or running is not started twice.
    func submit(_ actions: [DriverAction]) {
        for action in actions where !known.contains(action) {
            known.insert(action)
            queue.append(action)
        }
        startQueued()
    }

    /// Starts a capture per executor not being captured already. Called before the actions of the
    /// same commit are submitted, so a clean that follows can never overtake it.
    func capture(_ requests: [CaptureRequest]) {
        guard let evidence else { return }
        for request in requests where !capturing.contains(request.executor) {
            capturing.insert(request.executor)
            let driver = drivers[request.host]
            logger.info(
                "capturing evidence",
                metadata: ["executor": "\(request.executor)", "host": "\(request.host)", "cause": "\(request.cause)"])
            Task {
                let outcome = await evidence.capture(request, driver: driver)
                self.captured(outcome)
            }
        }
    }

    private func captured(_ outcome: CaptureOutcome) {
        capturing.remove(outcome.request.executor)
        if let error = outcome.error
            ?? (outcome.status == .failed ? outcome.manifest?.problems.joined(separator: "; ") : nil)
        {
            logger.error(
                "evidence not captured",
                metadata: ["executor": "\(outcome.request.executor)", "error": "\(error)"])
        }
        inbox.post(.forensics(outcome))
        startQueued()
    }

    private func startQueued() {
        while running < maxParallel, let index = queue.firstIndex(where: { !capturing.contains($0.executor) }) {
            let action = queue.remove(at: index)
            running += 1
            Task {
                let event = await self.execute(action)
                self.finished(action, event)
            }
        }
    }

    private func finished(_ action: DriverAction, _ event: SchedulerEvent) {
        running -= 1
        known.remove(action)
        inbox.post(.schedulerEvent(event))
        startQueued()
    }

    private nonisolated func execute(_ action: DriverAction) async -> SchedulerEvent {
        guard let driver = drivers[action.host] else {
            return .actionFailed(action, error: "no driver for host \(action.host) (not in the config any more?)")
        }
        let target = DriverTarget(app: app, executor: action.executor, variant: action.variant, host: action.host)
        var delay = retryDelay
        var lastError = ""
        for attempt in 1...attempts {
            do {
                let endpoint = try await withDeadline(
                    driver.actionTimeout,
                    "\(action.kind.rawValue) of \(action.executor) on host \(action.host) gave no answer within "
                        + "\(DurationText.format(driver.actionTimeout)); check the host's driver endpoint"
                ) {
                    switch action.kind {
                    case .create: return try await driver.create(target) as String?
                    case .clean: return try await driver.clean(target)
                    case .remove:
                        try await driver.remove(target)
                        return nil
                    }
                }
                return .actionSucceeded(action, endpoint: endpoint)
            } catch {
                lastError = "\(error)"
                logger.warning(
                    "driver action failed",
                    metadata: [
                        "action": "\(action.kind.rawValue)", "executor": "\(action.executor)", "host": "\(action.host)",
                        "attempt": "\(attempt)", "error": "\(lastError)",
                    ])
                if attempt < attempts {
                    try? await Task.sleep(for: delay)
                    delay *= 2
                }
            }
        }
        return .actionFailed(action, error: lastError)
    }
}
