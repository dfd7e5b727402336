import Foundation
import Scheduling
import Shared

/// The app's state in Redis: loads it at start and commits batches atomically. All calls go
/// through `RedisClient`, whose hiredis connection lives on its own owner thread.
struct StateStore: Sendable {
    let keys: RedisKeys
    let redis: RedisClient
    /// The fencing token the owning scheduler instance gave this worker (`--fence`, cluster mode,
    /// DESIGN section 11); nil in one-machine mode, where no write checks a fence.
    var fence: UInt64? = nil

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
        /// The meta hash's `fence` is not this worker's token (`stored`, "" when absent): a newer
        /// owner claimed the app. Nothing was written; this worker must not commit again.
        case fenced(stored: String)
    }

    /// The answer of a write that checks the fence and nothing else.
    enum FencedWrite: Sendable, Equatable {
        case written
        case fenced(stored: String)
    }

    /// Claims the app for this worker's token (DESIGN section 11): sets the meta hash's `fence` to
    /// it unless a greater token is stored there (a newer owner runs the app). With `redis.wait`
    /// the claim counts only once a replica has it, as commits do; a shortfall throws and the
    /// caller retries (setting the same token again is harmless).
    func claimFence() async throws -> FencedWrite {
        guard let fence else { return .written }
        let claim = ["EVAL", Self.fenceClaim, "1", keys.meta, "\(fence)"]
        guard let wait = redis.settings.wait else { return try Self.fencedWrite(await redis.command(claim)) }
        let replies = try await redis.pipeline([claim, wait.command])
        if let message = replies[0].errorMessage { throw RedisError.server(message: message) }
        let outcome = try Self.fencedWrite(replies[0])
        // A refused claim wrote nothing: there is nothing for a replica to have.
        if case .fenced = outcome { return outcome }
        try wait.confirm(replies[1], endpoint: redis.settings.server)
        return outcome
    }

    /// KEYS[1] = meta hash; ARGV[1] = this worker's token (a positive integer in canonical
    /// decimal). Tokens are compared as decimal strings (longer is greater, then byte order), so
    /// no token loses precision as a Lua number. A stored value that is not such an integer was not
    /// written by a claim and is replaced.
    static let fenceClaim = """
        local stored = redis.call('HGET', KEYS[1], 'fence')
        if stored and string.match(stored, '^[1-9]%d*$') then
          if #stored > #ARGV[1] or (#stored == #ARGV[1] and stored > ARGV[1]) then
            return {'fenced', stored}
          end
        end
        redis.call('HSET', KEYS[1], 'fence', ARGV[1])
        return 1
        """

    /// KEYS[1] = meta hash; ARGV[1] = this worker's token; then per command: its length, its
    /// words. Runs the commands only while the stored fence is exactly the token.
    static let fenceGuardedWrite = """
        local stored = redis.call('HGET', KEYS[1], 'fence') or ''
        if stored ~= ARGV[1] then return {'fenced', stored} end
        \(runPackedCommands(from: 2))
        return 1
        """

    /// `commands` as one `fenceGuardedWrite` script run for `fence` against the meta hash `meta`.
    static func fenceGuarded(_ commands: [[String]], fence: UInt64, meta: String) -> [String] {
        ["EVAL", fenceGuardedWrite, "1", meta, "\(fence)"] + packed(commands)
    }

    /// Commands as the scripts' ARGV tail: per command its length, then its words.
    static func packed(_ commands: [[String]]) -> [String] {
        commands.flatMap { ["\($0.count)"] + $0 }
    }

    /// Lua that runs the commands `packed` put in ARGV from index `first` on.
    static func runPackedCommands(from first: Int) -> String {
        """
        local i = \(first)
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          local command = {}
          for j = 1, n do command[j] = ARGV[i + j] end
          redis.call(unpack(command))
          i = i + n + 1
        end
        """
    }

    /// 1 is written; `{'fenced', stored}` is a fence that is not ours.
    static func fencedWrite(_ reply: RedisReply) throws -> FencedWrite {
        if reply.int == 1 { return .written }
        if let parts = reply.strings, parts.count == 2, parts[0] == "fenced" { return .fenced(stored: parts[1]) }
        throw RedisError.unexpectedReply("a fenced write answered \(reply)")
    }

    /// The guarded commit's answer: 1 committed, 0 refused, `{'fenced', stored}` fenced.
    private static func commitOutcome(_ reply: RedisReply) throws -> CommitOutcome {
        switch try? fencedWrite(reply) {
        case .written?: return .committed
        case .fenced(let stored)?: return .fenced(stored: stored)
        case nil: return .refused
        }
    }

    /// Runs the batch atomically, as MULTI/EXEC would, but as a script that first checks that Redis
    /// still holds exactly the state the batch was built on (DESIGN section 10). That check also
    /// makes a copy of the batch still queued in a Redis that was stopped (SIGSTOP), on a connection
    /// the worker has since given up on, a no-op when it runs after the retry.
    func commit(_ batch: CommitBatch, after predecessor: Predecessor) async throws -> CommitOutcome {
        let arguments =
            [
                "EVAL", Self.guardedCommit, "2", keys.meta, keys.applied, "\(predecessor.commit)",
                predecessor.applied?.epoch ?? "", predecessor.applied.map { "\($0.seq)" } ?? "",
                fence.map { "\($0)" } ?? "",
            ] + Self.packed(batch.commands)
        guard let wait = redis.settings.wait else {
            return try Self.commitOutcome(await redis.command(arguments))
        }
        // WAIT in the same round trip: it covers every write this connection made, the script's
        // included, so a commit counts only once a replica has it.
        let replies = try await redis.pipeline([arguments, wait.command])
        if let message = replies[0].errorMessage { throw RedisError.server(message: message) }
        let outcome = try Self.commitOutcome(replies[0])
        // Fenced wrote nothing, and a replica's copy would not make it count.
        if case .fenced = outcome { return outcome }
        try wait.confirm(replies[1], endpoint: redis.settings.server)
        return outcome
    }

    /// After a commit whose WAIT fell short, or whose connection broke: a fresh write on the
    /// current connection, then WAIT. Replication is ordered, so a replica that has this write has
    /// everything the master had before it, the earlier commit included, whichever connection made it.
    /// With a fence the probe is written only while the fence is still this worker's: a fenced
    /// worker writes nothing, and its batch does not count even if it ran.
    func confirmDurable(_ commit: Int64) async throws -> FencedWrite {
        guard let wait = redis.settings.wait else { return .written }
        let probe = ["HSET", keys.meta, "durable_probe", "\(commit)"]
        let replies = try await redis.pipeline([
            fence.map { Self.fenceGuarded([probe], fence: $0, meta: keys.meta) } ?? probe, wait.command,
        ])
        if let message = replies[0].errorMessage { throw RedisError.server(message: message) }
        if fence != nil, case .fenced(let stored) = try Self.fencedWrite(replies[0]) { return .fenced(stored: stored) }
        try wait.confirm(replies[1], endpoint: redis.settings.server)
        return .written
    }

    /// KEYS[1] = meta hash, KEYS[2] = applied hash; ARGV[1] = the commit counter, ARGV[2], ARGV[3]
    /// = the applied epoch and seq the batch was built on ("" and "" for none), ARGV[4] = this
    /// worker's fencing token ("" in one-machine mode: no fence is read); then per command: its
    /// length, its words. Values the worker could not parse at load count as absent on both
    /// sides, so an odd stored value cannot refuse every commit forever. The fence is checked
    /// first and for exact equality: any other stored value, absent included, means this worker's
    /// claim no longer holds, and a fenced worker must stop rather than reload and go on.
    /// Returns 1 committed, 0 refused, {'fenced', stored fence} fenced.
    static let guardedCommit = """
        if ARGV[4] ~= '' then
          local fence = redis.call('HGET', KEYS[1], 'fence') or ''
          if fence ~= ARGV[4] then return {'fenced', fence} end
        end
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
        \(runPackedCommands(from: 5))
        return 1
        """

    /// Whether a batch ran, as `isCommitted` finds it.
    enum CommitCheck: Sendable, Equatable {
        case ran
        case didNotRun
        /// The fence is no longer this worker's: whatever ran, it must not be acknowledged.
        case fenced(stored: String)
    }

    /// After a connection broke mid-commit: whether the batch that moves the counter to `commit`
    /// and the applied cursor to `applied` ran. With a fence, the fence is read last: a newer
    /// owner claims before it commits and fences only grow, so a fence still ours at that read
    /// means the counter and cursor read before it were moved by this worker, never by a newer
    /// owner replaying the same journal to the same counter and seq.
    func isCommitted(_ commit: Int64, applied: (epoch: String, seq: UInt64)?) async throws -> CommitCheck {
        let stored = try await redis.command(["HGET", keys.meta, "commit"]).string.flatMap { Int64($0) } ?? 0
        var ran = stored == commit
        if ran, let applied {
            let current = try await hash(keys.applied)
            ran = current["epoch"] == applied.epoch && current["seq"] == "\(applied.seq)"
        }
        if let fence {
            let current = try await redis.command(["HGET", keys.meta, "fence"]).string ?? ""
            if current != "\(fence)" { return .fenced(stored: current) }
        }
        return ran ? .ran : .didNotRun
    }

    /// Drops state-set memberships that contradict the executor hashes (found by `load`).
    ///
    /// With a fence it runs as a fence-checked script, not MULTI/EXEC: the claim came before the
    /// load, but a worker paused (SIGSTOP) between its claim and this repair may resume after a
    /// newer owner claimed and committed, and its snapshot would then undo that owner's state
    /// sets. Without a fence it is the MULTI/EXEC it always was.
    func repair(_ executors: [Executor]) async throws -> FencedWrite {
        var commands: [[String]] = []
        for executor in executors {
            for state in ExecutorState.allCases where state != executor.state {
                commands.append(["SREM", keys.state(state), executor.id])
            }
            commands.append(["SADD", keys.state(executor.state), executor.id])
        }
        guard !commands.isEmpty else { return .written }
        guard let fence else {
            _ = try await redis.transaction(commands)
            return .written
        }
        return try Self.fencedWrite(await redis.command(Self.fenceGuarded(commands, fence: fence, meta: keys.meta)))
    }

    private func hash(_ key: String) async throws -> [String: String] {
        try await redis.command(["HGETALL", key]).dictionary ?? [:]
    }
}
