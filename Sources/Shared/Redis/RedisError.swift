/// Everything the Redis client can fail with. Messages name the endpoint and say what to check,
/// because they end up in operator logs.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Could not open a connection (refused, unresolvable host, connect timeout).
    case connectionFailed(endpoint: String, reason: String)
    /// An open connection broke (reset, closed by the server, I/O error).
    case connectionLost(endpoint: String, reason: String)
    /// The server did not answer within the command timeout; the connection was dropped.
    case timeout(endpoint: String, after: Duration)
    /// AUTH was refused.
    case authenticationFailed(endpoint: String, message: String)
    /// The server answered a command with an error reply.
    case server(message: String)
    /// Command `command` (0-based, among the transaction's commands) failed. When
    /// `othersApplied` is false Redis refused it while queueing and discarded the whole
    /// transaction; when true it failed inside EXEC and Redis applied the other commands.
    case transactionFailed(command: Int, message: String, othersApplied: Bool)
    /// EXEC returned nil: a WATCHed key changed and nothing was applied.
    case transactionAborted
    /// The reply did not have the shape the protocol promises for that command.
    case unexpectedReply(String)
    /// The client or subscriber was closed.
    case closed
    /// No sentinel named a master: each sentinel's answer or failure is in `detail`.
    case noMaster(master: String, detail: String)
    /// The server a sentinel named is not (or no longer) the master: a failover is under way.
    case notMaster(endpoint: String, role: String)
    /// The master ran the write but fewer replicas than `redis.wait.replicas` confirmed it in
    /// time, so a failover could still lose it; nothing that depends on it is acknowledged.
    case notDurable(endpoint: String, replicas: Int, wanted: Int, after: Duration)

    public var description: String {
        switch self {
        case .connectionFailed(let endpoint, let reason):
            "cannot connect to Redis at \(endpoint): \(reason); is redis-server running at \(endpoint)? "
                + "Check redis.host and redis.port"
        case .connectionLost(let endpoint, let reason):
            "connection to Redis at \(endpoint) lost: \(reason); the next call reconnects"
        case .timeout(let endpoint, let after):
            "Redis at \(endpoint) did not answer within \(after); is it stopped or overloaded? "
                + "The connection was dropped and the next call reconnects"
        case .authenticationFailed(let endpoint, let message):
            "Redis at \(endpoint) refused AUTH: \(message); check redis.password"
        case .server(let message):
            "Redis error reply: \(message)"
        case .transactionFailed(let command, let message, let othersApplied):
            "Redis transaction command #\(command) failed: \(message); "
                + (othersApplied ? "Redis applied the other commands (no rollback)" : "nothing was applied")
        case .transactionAborted:
            "Redis transaction aborted (EXEC returned nil because a watched key changed); nothing was applied"
        case .unexpectedReply(let detail):
            "unexpected reply from Redis: \(detail)"
        case .closed:
            "the Redis client was closed"
        case .noMaster(let master, let detail):
            "no sentinel named a master for \(master): \(detail); check redis.sentinel.master and redis.sentinel.nodes "
                + "and that the sentinels run"
        case .notMaster(let endpoint, let role):
            "Redis at \(endpoint) is a \(role), not the master the sentinels named; a failover is under way, "
                + "the next call asks the sentinels again"
        case .notDurable(let endpoint, let replicas, let wanted, let after):
            "Redis at \(endpoint): \(replicas) of the \(wanted) replicas redis.wait asks for confirmed the write "
                + "within \(after); not acknowledging until they do (are the replicas up and connected?)"
        }
    }
}
