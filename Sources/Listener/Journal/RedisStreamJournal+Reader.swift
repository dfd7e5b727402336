import Logging
import Shared

/// The reader: follows the stream (records and markers other instances wrote), and between reads
/// does the journal's upkeep in Redis: answers rewinds, persists the acknowledged seq, trims,
/// writes releases that failed, and releases held parts whose instance went away.
extension RedisStreamJournal {
    /// What applying entries found wrong, to log outside the lock.
    struct Problems: Sendable {
        var holes: [ClosedRange<UInt64>] = []
        var malformed: [String] = []
    }

    /// Applies entries read from the stream, in stream order: records not yet in the window go in
    /// (a seq missing from the stream, or an entry that is not a record, becomes a void
    /// placeholder: the worker is told it is skipped, and never stalls), markers decide held parts.
    func apply(_ entries: [(RedisStreamEntry.Position, RedisStreamEntry)], unplaced: [String], to state: inout State)
        -> Problems
    {
        var problems = Problems(malformed: unplaced)
        for (_, entry) in entries {
            switch entry {
            case .record(let record, let hold):
                switch state.window.add(record, hold: hold) {
                case .added, .known:
                    break
                case .addedAfterHole(let hole):
                    problems.holes.append(hole)
                    state.skippedTotal += hole.upperBound - hole.lowerBound + 1
                case .tooFar:
                    problems.malformed.append(
                        "\(record.seq)-0: seq far past the journal's last seq \(state.window.lastSeq); not appended by it"
                    )
                }
            case .release(let range):
                state.window.release(range)
            case .void(let range):
                state.window.void(range)
            case .malformed(let id, let seq, let reason):
                problems.malformed.append("\(id): \(reason)")
                if let seq, seq > state.window.lastSeq, seq - state.window.lastSeq <= RedisStreamWindow.maxHole {
                    state.skippedTotal += seq - state.window.lastSeq
                    state.window.addPlaceholder(seq: seq)
                }
            }
        }
        return problems
    }

    func report(_ problems: Problems) {
        for hole in problems.holes {
            logger.error(
                "seqs missing from the Redis journal stream; the worker is told they are skipped",
                metadata: ["from": "\(hole.lowerBound)", "to": "\(hole.upperBound)", "stream": .string(keys.stream)])
        }
        for entry in problems.malformed {
            logger.error(
                "malformed entry in the Redis journal stream; skipped",
                metadata: ["entry": .string(entry), "stream": .string(keys.stream)])
        }
    }

    func startReader(after cursor: RedisStreamEntry.Position) {
        // On the reader client's Redis thread: each XREAD then runs inline, without two thread hops.
        let task = Task(executorPreference: readerClient.executor) { await self.follow(after: cursor) }
        state.withLock { $0.reader = task }
    }

    private func follow(after start: RedisStreamEntry.Position) async {
        var cursor = start
        var upkeep = Upkeep()
        var readFailures = RepeatedFailure()
        while true {
            let closing = state.withLock { $0.closing }
            await maintain(&upkeep, stopping: closing)
            if closing { break }
            do {
                let reply = try await readerClient.command([
                    "XREAD", "COUNT", "\(Self.readCount)", "BLOCK", "\(Self.milliseconds(options.readBlock))",
                    "STREAMS", keys.stream, cursor.id,
                ])
                let parsed = RedisStreamEntry.parseRead(reply, stream: keys.stream)
                readFailures.recovered()
                guard let last = parsed.entries.last?.0 else {
                    report(Problems(malformed: parsed.unplaced))
                    continue
                }
                let known = state.withLock { $0.window.lastSeq }
                let news = parsed.entries.contains { position, _ in position.sub != 0 || position.seq > known }
                if news, let wait = settings.wait {
                    // Another instance's records count once a replica has them (its append may
                    // still be waiting): a write here, then WAIT, covers everything before it.
                    let replies = try await readerClient.pipeline([
                        ["SET", keys.probe, cursor.id], wait.command,
                    ])
                    if let message = replies[0].errorMessage { throw RedisError.server(message: message) }
                    try wait.confirm(replies[1], endpoint: settings.server)
                }
                let (problems, listener) = state.withLock { state in
                    (apply(parsed.entries, unplaced: parsed.unplaced, to: &state), state.onDurable)
                }
                report(problems)
                cursor = last
                if news { listener?() }
            } catch {
                if readFailures.isWorthLogging(error) {
                    logger.error(
                        "cannot read the Redis journal stream; retrying",
                        metadata: ["error": "\(error)", "stream": .string(keys.stream)])
                }
                try? await Task.sleep(for: options.readBlock)
            }
        }
        let rewinds = state.withLock { state in
            defer { state.rewinds.removeAll() }
            return state.rewinds.map { ($0, state.window.ackedSeq) }
        }
        for (pending, acked) in rewinds { pending.completion(RewindOutcome(acked: acked, gap: nil)) }
        await client.close()
        await readerClient.close()
    }

    /// When the reader last did the slower upkeep.
    struct Upkeep: Sendable {
        var lastTrim: ContinuousClock.Instant = .now - .seconds(60)
        var lastHoldCheck: ContinuousClock.Instant = .now
        var failures = RepeatedFailure()
    }

    /// The reader retries every few hundred ms while Redis is away: one log line per distinct
    /// error, and again every `interval` while it lasts, not one per attempt.
    struct RepeatedFailure: Sendable {
        static let interval: Duration = .seconds(10)
        private var last: (text: String, at: ContinuousClock.Instant)?

        mutating func isWorthLogging(_ error: any Error) -> Bool {
            let text = "\(error)"
            let now = ContinuousClock.now
            if let last, last.text == text, now - last.at < Self.interval { return false }
            last = (text, now)
            return true
        }

        mutating func recovered() { last = nil }
    }

    static let upkeepInterval: Duration = .seconds(1)

    private func maintain(_ upkeep: inout Upkeep, stopping: Bool) async {
        await answerRewinds()
        var trimDue = ContinuousClock.now - upkeep.lastTrim >= Self.upkeepInterval
        do {
            let stored = try await client.pipeline([["GET", keys.acked], ["GET", keys.seq]])
            if let message = stored.lazy.compactMap(\.errorMessage).first {
                throw RedisError.server(message: message)
            }
            try await guardSeq(stored[1])
            if let text = stored[0].string, let remote = UInt64(text) {
                // Another instance acknowledged (it owns the app now): its worker is the truth.
                // Applied again until the window took all of it: a part still held here (its
                // release not read yet) stops an acknowledgement short.
                state.withLock { state in
                    if remote > state.persistedAck { state.persistedAck = remote }
                    if state.window.ackedSeq < state.persistedAck { state.window.acknowledge(state.persistedAck) }
                }
            }
            let (acked, persisted) = state.withLock { ($0.window.ackedSeq, $0.persistedAck) }
            if acked > persisted {
                try await run(RedisStreamScripts.acknowledge, keys: [keys.acked], arguments: ["\(acked)"])
                state.withLock { $0.persistedAck = max($0.persistedAck, acked) }
                trimDue = true
            }
            if trimDue && !stopping {
                upkeep.lastTrim = .now
                try await trim()
            }
            try await writeUnwrittenReleases()
            if ContinuousClock.now - upkeep.lastHoldCheck >= Self.upkeepInterval {
                upkeep.lastHoldCheck = .now
                try await expireHolds()
            }
            upkeep.failures.recovered()
        } catch {
            if upkeep.failures.isWorthLogging(error) {
                logger.warning(
                    "Redis journal upkeep failed; retrying",
                    metadata: ["error": "\(error)", "stream": .string(keys.stream)])
            }
        }
    }

    /// A seq counter below what this instance holds means Redis lost the journal's tail (a
    /// restart from an older AOF or a backup; with `redis.wait` only what was never acknowledged
    /// can go). The next appends would reuse seqs the worker may have applied, under the same
    /// epoch: the counter is raised past them at once, loudly. What was lost is a hole in the
    /// stream, which a rewind reports as skipped.
    private func guardSeq(_ reply: RedisReply) async throws {
        let stored = reply.isNull ? 0 : reply.string.flatMap { UInt64($0) }
        let held = state.withLock { $0.window.lastSeq }
        guard let stored, stored < held else { return }
        let raised = try await run(RedisStreamScripts.raiseSeq, keys: [keys.seq], arguments: ["\(held)"])
        if raised.int == 1 {
            logger.critical(
                "the Redis journal's seq went back (Redis lost writes); raised it past the seqs already journaled",
                metadata: ["stored": "\(stored)", "raised_to": "\(held)", "stream": .string(keys.stream)])
        }
    }

    /// Trims acknowledged records retention lets go, with their keys, in bounded steps.
    private func trim() async throws {
        let (acked, unacked) = state.withLock { ($0.persistedAck, $0.window.bytes) }
        guard acked > 0 else { return }
        let (cutoff, overflow) = options.clock().subtractingReportingOverflow(options.retention.retainMs)
        for _ in 0..<100 {
            let reply = try await run(
                RedisStreamScripts.trim, keys: [keys.stream, keys.keys, keys.bytes, keys.voids, keys.seq],
                arguments: [
                    "\(acked)", overflow ? "" : "\(cutoff)", "\(options.retention.maxBytes)", "\(unacked)",
                    "\(Self.trimStep)", "\(options.recentIDs)",
                ])
            guard let items = reply.array, items.count == 3, let trimmed = items[0].int, let kept = items[1].int,
                let more = items[2].int, trimmed >= 0, kept >= 0
            else { throw RedisError.unexpectedReply("the trim script answered \(reply)") }
            if kept > 0 {
                state.withLock { $0.oldestRetainedSeq = max($0.oldestRetainedSeq, UInt64(kept)) }
            }
            if more == 0 { break }
        }
        // Another instance may have trimmed too.
        let oldest = try await oldestRecord()
        state.withLock { $0.oldestRetainedSeq = oldest ?? ($0.window.lastSeq + 1) }
    }

    static let trimStep = 500

    private func writeUnwrittenReleases() async throws {
        let ranges = state.withLock { $0.unwrittenReleases }
        for range in ranges {
            let reply = try await writeRelease(range)
            let listener = state.withLock { state in
                state.unwrittenReleases.removeAll { $0 == range }
                // 0: Redis decided first (a void that ran before its connection broke): the
                // marker read back says what; 1: released everywhere, here too.
                if reply.int == 1 { state.window.release(range) }
                return state.onDurable
            }
            listener?()
        }
    }

    /// Held parts older than `holdTimeout` by accept time: their instance died between the
    /// append and the end of its request. Released in Redis (unless it decided already), as a
    /// restarted file journal forwards its held parts; the sender's retry is deduplicated.
    private func expireHolds() async throws {
        let (cutoff, overflow) = options.clock().subtractingReportingOverflow(Self.milliseconds(options.holdTimeout))
        guard !overflow else { return }
        let expired = state.withLock { state in
            state.window.holds.filter { range in state.window.holdStart(range).map { $0 <= cutoff } ?? false }
        }
        for range in expired {
            let reply = try await writeRelease(range)
            let (secondCutoff, _) = cutoff.subtractingReportingOverflow(Self.milliseconds(options.holdTimeout))
            let listener: (@Sendable () -> Void)? = state.withLock { state in
                if reply.int == 1 {
                    state.window.release(range)
                } else if let start = state.window.holdStart(range), start <= secondCutoff {
                    // Redis has no hold and no marker came in two timeouts: the stream lost
                    // it. Forwarding must not stall on it.
                    state.window.release(range)
                } else {
                    return nil
                }
                return state.onDurable
            }
            if let listener {
                logger.warning(
                    "held part of a multi-app append expired; released",
                    metadata: ["from": "\(range.lowerBound)", "to": "\(range.upperBound)"])
                listener()
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        let (scaled, overflow) = parts.seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? Int64.max : scaled &+ parts.attoseconds / 1_000_000_000_000_000
    }
}
