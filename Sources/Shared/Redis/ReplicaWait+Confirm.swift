/// `WAIT` after a write, and what its answer means: the one place every `redis.wait` user (the
/// worker's commits, the stream journal, the cluster leases) builds the command and checks it.
extension ReplicaWait {
    /// `WAIT <replicas> <timeout ms>`: pipelined right after a write on the same connection, it
    /// covers that write and every earlier one of the connection.
    public var command: [String] {
        ["WAIT", "\(replicas)", "\(timeoutMilliseconds)"]
    }

    /// Throws unless `reply`, WAIT's answer, counts at least `replicas` replicas:
    /// `RedisError.notDurable` on a shortfall (nothing that depends on the write may be
    /// acknowledged), `.server` for an error reply, `.unexpectedReply` for anything else.
    /// `endpoint` names the server in the error (`RedisSettings.server`).
    public func confirm(_ reply: RedisReply, endpoint: String) throws {
        if let message = reply.errorMessage { throw RedisError.server(message: message) }
        guard let confirmed = reply.int else { throw RedisError.unexpectedReply("WAIT answered \(reply)") }
        guard confirmed >= replicas else {
            throw RedisError.notDurable(endpoint: endpoint, replicas: confirmed, wanted: replicas, after: timeout)
        }
    }
}
