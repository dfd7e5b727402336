import Foundation
import Scheduling
import Shared

/// The app's state in Redis: loads it at start and commits batches atomically. All calls go
/// through `RedisClient`, whose hiredis connection lives on its own owner thread.
struct StateStore: Sendable {
    let keys: RedisKeys
    let redis: RedisClient

    struct Snapshot: Sendable {
        var executors: [Executor]
        var meta: ExecutorPool.Meta
        var applied: (epoch: String, seq: UInt64)?
        var commit: Int64
        /// Weights as last published, so a restart does not publish a new version for nothing.
        var publishedWeights: [String: Double]?
        /// Ids found in more than one state set, or in a set without a hash; repaired on load.
        var inconsistencies: [String]
        /// Black and white lists with the expiry of each entry.
        var lists: ListBook = .init()
        /// The newest entries of the events stream, oldest first, so `events` answers after a restart.
        var recentEvents: [[String]] = []
        /// The policy memory last committed; nil for a new app or when it could not be read.
        var memory: PolicyMemory?
        /// Why a stored policy memory was not used (the worker says so, then goes on without it).
        var memoryProblem: String?
        /// Frames dead-lettered so far, and journal seqs skipped as gone (DESIGN section 10).
        var deadLetters: Int64 = 0
        var skipped: Int64 = 0
        /// Hosts the store last recorded down (filled by the loop from `downHosts`).
        var downHosts: Set<String> = []
    }

    func load() async throws -> Snapshot {
        var executors: [Executor] = []
        var inconsistencies: [String] = []
        var seen: Set<String> = []
        for state in ExecutorState.allCases {
            let members = try await redis.command(["SMEMBERS", keys.state(state)]).array ?? []
            for member in members.compactMap(\.string).sorted() {
                guard !seen.contains(member) else {
                    inconsistencies.append("\(member) is in more than one state set")
                    continue
                }
                seen.insert(member)
                let hash = try await hash(keys.executor(member))
                guard let executor = Executor(hash: hash) else {
                    inconsistencies.append("\(member) is in state:\(state.rawValue) but its hash is missing or invalid")
                    continue
                }
                executors.append(executor)
            }
        }
        let meta = try await hash(keys.meta)
        let applied = try await hash(keys.applied)
        var publishedWeights: [String: Double]?
        if let view = try await redis.command(["GET", keys.onlineView]).string,
            let decoded = try? JSONDecoder().decode(OnlineView.self, from: Data(view.utf8))
        {
            publishedWeights = Dictionary(decoded.online.map { ($0.id, $0.weight) }, uniquingKeysWith: { a, _ in a })
        }
        var lists: [ListChange.List: [String: Int64?]] = [:]
        for list in [ListChange.List.blacklist, .whitelist] {
            var entries: [String: Int64?] = [:]
            for url in try await redis.command(["SMEMBERS", keys.list(list.rawValue)]).array?.compactMap(\.string) ?? []
            {
                entries[url] = .some(nil)
            }
            let expiries =
                try await redis.command(["ZRANGE", keys.listExpiry(list.rawValue), "0", "-1", "WITHSCORES"])
                .array?.compactMap(\.string) ?? []
            var index = 0
            while index + 1 < expiries.count {
                // An expiry without its set member is a leftover; the set is what the brackets read.
                if entries[expiries[index]] != nil, let score = Double(expiries[index + 1]) {
                    entries[expiries[index]] = .some(Int64(score))
                }
                index += 2
            }
            lists[list] = entries
        }
        let latest = try await redis.command([
            "XREVRANGE", keys.events, "+", "-", "COUNT", "\(StatusBoard.recentEventLimit)",
        ])
        let recentEvents = (latest.array ?? []).reversed().compactMap { entry -> [String]? in
            guard let parts = entry.array, parts.count == 2 else { return nil }
            return parts[1].strings
        }
        var memory: PolicyMemory?
        var memoryProblem: String?
        if let text = try await redis.command(["GET", keys.policy]).string {
            memory = PolicyMemory(json: text)
            if memory == nil { memoryProblem = "\(keys.policy) is not a policy memory this version can read" }
        }
        return Snapshot(
            executors: executors,
            meta: ExecutorPool.Meta(
                nextExecutorNumber: Int(meta["next_executor"] ?? "") ?? 1,
                paused: meta["paused"] == "1",
                onlineVersion: Int(meta["online_version"] ?? "") ?? 0),
            applied: applied["epoch"].flatMap { epoch in applied["seq"].flatMap(UInt64.init).map { (epoch, $0) } },
            commit: Int64(meta["commit"] ?? "") ?? 0,
            publishedWeights: publishedWeights,
            inconsistencies: inconsistencies,
            lists: ListBook(entries: lists),
            recentEvents: recentEvents,
            memory: memory,
            memoryProblem: memoryProblem,
            deadLetters: Int64(meta["dead_letters"] ?? "") ?? 0,
            skipped: Int64(meta["skipped"] ?? "") ?? 0)
    }

    /// What a commit proves it was built on: the applied (epoch, seq) and commit counter the worker
    /// loaded or last committed.
    struct Predecessor: Sendable, Equatable {
        var commit: Int64
        var applied: (epoch: String, seq: UInt64)?

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.commit == rhs.commit && lhs.applied?.epoch == rhs.applied?.epoch && lhs.applied?.seq == rhs.applied?.seq
        }
    }

    enum CommitOutcome: Sendable, Equatable {
        case committed
        /// Redis does not hold the predecessor (it lost writes, or another writer moved it): nothing
        /// was written; the worker reloads before it acknowledges anything.
        case refused
    }

    /// Runs the batch atomically, as MULTI/EXEC would, but as a script that first checks that Redis
    /// still holds exactly the state the batch was built on (DESIGN section 10). That check also
    /// makes a copy of the batch still queued in a Redis that was stopped (SIGSTOP), on a connection
    /// the worker has since given up on, a no-op when it runs after the retry.
    func commit(_ batch: CommitBatch, after predecessor: Predecessor) async throws -> CommitOutcome {
        var arguments = [
            "EVAL", Self.guardedCommit, "2", keys.meta, keys.applied, "\(predecessor.commit)",
            predecessor.applied?.epoch ?? "", predecessor.applied.map { "\($0.seq)" } ?? "",
        ]
        for command in batch.commands {
            arguments.append("\(command.count)")
            arguments += command
        }
        guard let wait = redis.settings.wait else {
            return try await redis.command(arguments).int == 1 ? .committed : .refused
        }
        // WAIT in the same round trip: it covers every write this connection made, the script's
        // included, so a commit counts only once a replica has it.
        let replies = try await redis.pipeline([arguments, wait.command])
        if let message = replies[0].errorMessage { throw RedisError.server(message: message) }
        try wait.confirm(replies[1], endpoint: redis.settings.server)
        return replies[0].int == 1 ? .committed : .refused
    }

    /// After a commit whose WAIT fell short, or whose connection broke: a fresh write on the
    /// current connection, then WAIT. Replication is ordered, so a replica that has this write has
    /// everything the master had before it, the earlier commit included, whichever connection made it.
    func confirmDurable(_ commit: Int64) async throws {
        guard let wait = redis.settings.wait else { return }
        let replies = try await redis.pipeline([
            ["HSET", keys.meta, "durable_probe", "\(commit)"], wait.command,
        ])
        if let message = replies[0].errorMessage { throw RedisError.server(message: message) }
        try wait.confirm(replies[1], endpoint: redis.settings.server)
    }

    /// KEYS[1] = meta hash, KEYS[2] = applied hash; ARGV[1] = the commit counter, ARGV[2], ARGV[3]
    /// = the applied epoch and seq the batch was built on ("" and "" for none); then per command:
    /// its length, its words. Values the worker could not parse at load count as absent on both
    /// sides, so an odd stored value cannot refuse every commit forever.
    static let guardedCommit = """
        local stored = tonumber(redis.call('HGET', KEYS[1], 'commit') or '0') or 0
        if stored ~= tonumber(ARGV[1]) then return 0 end
        local applied = redis.call('HMGET', KEYS[2], 'epoch', 'seq')
        local epoch, seq = applied[1], tonumber(applied[2] or '')
        if not epoch or epoch == '' or not seq then epoch, seq = '', '' end
        if ARGV[2] == '' then
          if epoch ~= '' then return 0 end
        elseif epoch ~= ARGV[2] or seq ~= tonumber(ARGV[3]) then
          return 0
        end
        local i = 4
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          local command = {}
          for j = 1, n do command[j] = ARGV[i + j] end
          redis.call(unpack(command))
          i = i + n + 1
        end
        return 1
        """

    /// After a connection broke mid-commit: whether the batch that moves the counter to `commit`
    /// and the applied cursor to `applied` ran.
    func isCommitted(_ commit: Int64, applied: (epoch: String, seq: UInt64)?) async throws -> Bool {
        let stored = try await redis.command(["HGET", keys.meta, "commit"]).string.flatMap { Int64($0) } ?? 0
        guard stored == commit else { return false }
        guard let applied else { return true }
        let current = try await hash(keys.applied)
        return current["epoch"] == applied.epoch && current["seq"] == "\(applied.seq)"
    }

    /// Drops state-set memberships that contradict the executor hashes (found by `load`).
    func repair(_ executors: [Executor]) async throws {
        var commands: [[String]] = []
        for executor in executors {
            for state in ExecutorState.allCases where state != executor.state {
                commands.append(["SREM", keys.state(state), executor.id])
            }
            commands.append(["SADD", keys.state(executor.state), executor.id])
        }
        guard !commands.isEmpty else { return }
        _ = try await redis.transaction(commands)
    }

    private func hash(_ key: String) async throws -> [String: String] {
        try await redis.command(["HGETALL", key]).dictionary ?? [:]
    }
}
