import Synchronization

/// The async face of Redis for one process: every blocking hiredis call runs on one dedicated
/// owner thread, never on the cooperative pool or an event loop, so a slow or stopped Redis
/// cannot starve other work. A task that prefers `executor` runs on that thread and makes its
/// calls inline, without a hop (see `RedisOwnerThread`).
///
/// The connection is opened lazily. When it breaks (I/O error, timeout, `-READONLY` from a demoted
/// master) it is dropped and the error is rethrown; the next call connects again, through the
/// sentinels when `settings.sentinel` is set. Retrying and pacing are the caller's decision (see
/// `Backoff`).
public final class RedisClient: Sendable {
    public let settings: RedisSettings
    public let commandTimeout: Duration
    private let owner: RedisOwnerThread
    private let slot = ConnectionSlot()
    private let closed = Atomic(false)
    private let sentinels: SentinelDirectory?
    private let watch: SentinelWatch?

    public init(settings: RedisSettings, commandTimeout: Duration = .seconds(2)) {
        precondition(commandTimeout > .zero, "a zero command timeout would let a stopped Redis block forever")
        self.settings = settings
        // A WAIT may block for its whole timeout; the socket timeout must outlast it, or every
        // slow replica would look like a dead master.
        self.commandTimeout = settings.wait.map { max(commandTimeout, $0.timeout + .seconds(1)) } ?? commandTimeout
        owner = RedisOwnerThread(name: "mimic-redis")
        sentinels = settings.sentinel.map { SentinelDirectory($0, connectTimeout: settings.connectTimeout) }
        watch = sentinels.map { SentinelWatch(directory: $0) }
    }

    deinit {
        watch?.stop()
        if !closed.load(ordering: .acquiring) {
            let slot = self.slot
            // The last call on the owner thread: nothing else touches the slot any more.
            owner.submit { slot.connection = nil }
            owner.stop()
        }
    }

    /// The owner thread as an executor: `withTaskExecutorPreference(client.executor)` runs a task's
    /// code there, so that task's calls skip the hop. Only for a task that spends its time on this
    /// client (the worker's scheduler loop): while it runs, other callers of the client wait.
    public var executor: any TaskExecutor { owner }

    /// One command; an error reply throws `RedisError.server`.
    @discardableResult
    public func command(_ arguments: [String]) async throws -> RedisReply {
        try await withConnection { try $0.command(arguments) }
    }

    /// One command with binary arguments; an error reply throws `RedisError.server`.
    @discardableResult
    public func command(_ arguments: [[UInt8]]) async throws -> RedisReply {
        try await withConnection { try $0.command(arguments) }
    }

    /// All commands in one round trip; error replies come back in place as `.error`.
    public func pipeline(_ commands: [[String]]) async throws -> [RedisReply] {
        try await withConnection { try $0.pipeline(commands) }
    }

    /// `pipeline` with binary arguments: a write and the `WAIT` that covers it on one connection.
    public func pipeline(bytes commands: [[[UInt8]]]) async throws -> [RedisReply] {
        try await withConnection { try $0.pipeline(bytes: commands) }
    }

    /// MULTI/EXEC in one round trip; returns EXEC's replies, throws if any command failed.
    public func transaction(_ commands: [[String]]) async throws -> [RedisReply] {
        try await withConnection { try $0.transaction(commands) }
    }

    /// Throws unless Redis answers PONG; connects first when needed, so it doubles as a probe.
    public func ping() async throws {
        let reply = try await command(["PING"])
        guard reply == .status("PONG") else {
            throw RedisError.unexpectedReply("PING answered \(reply)")
        }
    }

    /// Closes the connection and stops the owner thread; later calls throw `RedisError.closed`.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        watch?.stop()
        let slot = self.slot
        try? await owner.run { slot.connection = nil }
        owner.stop()
    }

    private func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws -> Result
    ) async throws -> Result {
        guard !closed.load(ordering: .acquiring) else { throw RedisError.closed }
        let slot = self.slot
        let settings = self.settings
        let commandTimeout = self.commandTimeout
        let sentinels = self.sentinels
        let generation = watch?.generation ?? 0
        let call: @Sendable () throws -> Result = {
            let connection: RedisConnection
            if let open = slot.connection, slot.generation == generation {
                connection = open
            } else {
                slot.connection = nil
                connection = try RedisConnection(
                    settings: settings, commandTimeout: commandTimeout, sentinels: sentinels)
                slot.connection = connection
                slot.generation = generation
            }
            do {
                return try body(connection)
            } catch {
                if connection.isBroken { slot.connection = nil }
                throw error
            }
        }
        if owner.isCurrent { return try call() }
        return try await owner.run(call)
    }
}

/// Holds the client's connection. Unchecked Sendable because it is only ever read or written on
/// the client's single owner thread, which serialises all access.
private final class ConnectionSlot: @unchecked Sendable {
    var connection: RedisConnection?
    /// The sentinels' switch count when `connection` was opened.
    var generation = 0
}
