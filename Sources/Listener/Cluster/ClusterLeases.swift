import Shared

/// Who is alive and who owns which app, in the cluster Redis (DESIGN section 11): a heartbeat
/// keeps an instance in the live set, and each app has a lease that one instance at a time holds,
/// with a fencing token that goes up at every change of owner.
///
/// Every read-modify-write is one Lua script (`ClusterScripts`), so instances racing for a lease
/// cannot both win. With `redis.wait` set, a write that makes or keeps us the owner (acquire,
/// renew) is followed by WAIT in the same round trip and throws `RedisError.notDurable` on a
/// shortfall: the caller must then not act as the owner, since a failover could hand the lease, or
/// the same token, to another instance. Heartbeats, leaves and releases do not wait: losing one in
/// a failover costs at most one lease of delay, never two owners.
///
/// Errors (Redis down, timeouts) are thrown as the client throws them, bounded by its command
/// timeout; retrying is the caller's decision.
struct ClusterLeases: Sendable {
    let redis: RedisClient
    let lease: Duration

    init(redis: RedisClient, lease: Duration) {
        precondition(lease > .zero, "a lease must last some time")
        self.redis = redis
        self.lease = lease
    }

    /// The lease in whole ms for PX and PEXPIRE, at least 1, clamped far below overflow.
    var leaseMilliseconds: Int64 {
        let parts = lease.components
        let (scaled, overflow) = parts.seconds.multipliedReportingOverflow(by: 1000)
        let ceiling = Int64.max / 4
        guard !overflow, scaled < ceiling else { return ceiling }
        return max(1, scaled + parts.attoseconds / 1_000_000_000_000_000)
    }

    /// Marks `instance` alive until now + lease (Redis server TIME, not the local clock), drops
    /// expired members, returns the live instances sorted.
    func heartbeat(instance: String) async throws -> [String] {
        let (reply, _) = try await run(
            ClusterScripts.heartbeat, keys: [ClusterKeys.instances],
            // One lease, as its app leases: instances beat every third of one, and a dead instance
            // must leave the placement when its leases run out, or its apps wait for it longer.
            arguments: [instance, "\(leaseMilliseconds)"],
            waiting: false)
        guard let members = reply.array else {
            throw RedisError.unexpectedReply("the heartbeat script answered \(reply)")
        }
        return members.map { String(decoding: $0.bytes ?? [], as: UTF8.self) }.sorted()
    }

    /// Graceful leave: removes `instance` from the live set at once.
    func leave(instance: String) async throws {
        try await redis.command(["ZREM", ClusterKeys.instances, instance])
    }

    /// Takes the app's lease if it is free or already ours (then extends it); a new owner gets a new
    /// fencing token (INCR of a per-app counter that never expires or goes down). Waits for the
    /// replica (WAIT) when configured: a shortfall throws, and the caller must not act as owner.
    func acquire(app: String, instance: String) async throws -> LeaseClaim {
        let (reply, wait) = try await run(
            ClusterScripts.acquire, keys: [ClusterKeys.lease(app: app), ClusterKeys.fence(app: app)],
            arguments: [instance, "\(leaseMilliseconds)"], waiting: true)
        guard let parts = reply.array, let won = parts.first?.int, let token = parts.dropFirst().first?.string
        else {
            throw RedisError.unexpectedReply("the acquire script answered \(reply)")
        }
        switch (won, UInt64(token), parts.count) {
        case (1, .some(let token), 2):
            try confirm(wait)
            return .held(token: token)
        case (0, .some(let token), 3):
            let holder = String(decoding: parts[2].bytes ?? [], as: UTF8.self)
            return .heldBy(LeaseHolder(instance: holder, token: token))
        default:
            throw RedisError.unexpectedReply("the acquire script answered \(reply)")
        }
    }

    /// Extends our lease; false when it is not ours any more (expired and/or taken). Waits for the
    /// replica like acquire.
    func renew(app: String, instance: String, token: UInt64) async throws -> Bool {
        let (reply, wait) = try await run(
            ClusterScripts.renew, keys: [ClusterKeys.lease(app: app)],
            arguments: [LeaseHolder(instance: instance, token: token).value, "\(leaseMilliseconds)"], waiting: true)
        switch reply.int {
        case 1:
            try confirm(wait)
            return true
        case 0:
            return false
        default:
            throw RedisError.unexpectedReply("the renew script answered \(reply)")
        }
    }

    /// Gives the lease up at once (graceful handover) if it is still ours with that token.
    func release(app: String, instance: String, token: UInt64) async throws {
        try await run(
            ClusterScripts.release, keys: [ClusterKeys.lease(app: app)],
            arguments: [LeaseHolder(instance: instance, token: token).value], waiting: false)
    }

    /// Current holder of each app's lease (absent when free).
    func holders(apps: [String]) async throws -> [String: LeaseHolder] {
        let apps = Array(Set(apps)).sorted()
        guard !apps.isEmpty else { return [:] }
        let reply = try await redis.command(["MGET"] + apps.map { ClusterKeys.lease(app: $0) })
        guard let values = reply.array, values.count == apps.count else {
            throw RedisError.unexpectedReply("MGET of \(apps.count) leases answered \(reply)")
        }
        var holders: [String: LeaseHolder] = [:]
        for (app, value) in zip(apps, values) {
            if let bytes = value.bytes, let holder = LeaseHolder(value: bytes) { holders[app] = holder }
        }
        return holders
    }

    /// Runs `script` by its digest (as EVAL when Redis does not have it cached) and, when `waiting`
    /// and `redis.wait` is set, WAIT in the same round trip. Returns the script's reply and WAIT's
    /// (nil when there was none); an error reply from the script throws.
    @discardableResult
    private func run(
        _ script: RedisScript, keys: [String], arguments: [String], waiting: Bool
    ) async throws -> (reply: RedisReply, wait: RedisReply?) {
        let wait = waiting ? redis.settings.wait.map { $0.command.map { Array($0.utf8) } } : nil
        var cached = true
        while true {
            let commands =
                [script.command(keys: keys, arguments: arguments, cached: cached)] + (wait.map { [$0] } ?? [])
            let replies = try await redis.pipeline(bytes: commands)
            guard replies.count == commands.count else {
                throw RedisError.unexpectedReply("\(commands.count) pipelined commands got \(replies.count) replies")
            }
            if let message = replies[0].errorMessage {
                if cached, RedisScript.isMissing(message) {
                    cached = false
                    continue
                }
                throw RedisError.server(message: message)
            }
            return (replies[0], wait == nil ? nil : replies[1])
        }
    }

    /// Throws unless WAIT's reply (when there was a WAIT) counts the replicas `redis.wait` asks for.
    private func confirm(_ reply: RedisReply?) throws {
        guard let reply, let wait = redis.settings.wait else { return }
        try wait.confirm(reply, endpoint: redis.settings.server)
    }
}
