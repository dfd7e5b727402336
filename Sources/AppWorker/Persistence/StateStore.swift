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
            recentEvents: recentEvents)
    }

    /// Runs the batch atomically, as MULTI/EXEC would, but as a script that first compares the
    /// commit counter: a copy of the batch still queued in a Redis that was stopped (SIGSTOP) on a
    /// connection the worker has since given up on runs when Redis resumes, possibly after the
    /// retry; the counter makes whichever runs second a no-op, so a batch never applies twice.
    /// When the connection breaks mid-commit, `isCommitted` tells whether it ran.
    func commit(_ batch: CommitBatch) async throws {
        var arguments = ["EVAL", Self.guardedCommit, "1", keys.meta, "\(batch.commitNumber)"]
        for command in batch.commands {
            arguments.append("\(command.count)")
            arguments += command
        }
        _ = try await redis.command(arguments)
    }

    /// KEYS[1] = meta hash; ARGV[1] = commit number; then per command: its length, its words.
    static let guardedCommit = """
        local stored = tonumber(redis.call('HGET', KEYS[1], 'commit') or '0')
        if stored >= tonumber(ARGV[1]) then return 0 end
        local i = 2
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          local command = {}
          for j = 1, n do command[j] = ARGV[i + j] end
          redis.call(unpack(command))
          i = i + n + 1
        end
        return 1
        """

    func isCommitted(_ commit: Int64) async throws -> Bool {
        let stored = try await redis.command(["HGET", keys.meta, "commit"]).string.flatMap { Int64($0) } ?? 0
        return stored >= commit
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
