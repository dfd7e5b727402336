import Logging
import Metrics
import Shared

/// Appending and what becomes of held parts: the Redis side of ingress.
extension RedisStreamJournal {
    struct QueuedAppend: Sendable {
        var entries: [JournalEntry]
        var held: Bool
        var admission: Admission
        var completion: @Sendable (Result<AppendReceipt, JournalRejection>) -> Void
        var started: ContinuousClock.Instant

        var bytes: Int { entries.reduce(0) { $0 &+ $1.envelope.count &+ $1.key.utf8.count } }
    }

    /// At most this many appends, or this many bytes, go in one pipeline.
    static let batchAppends = 128
    static let batchBytes = 4 << 20

    /// Appends wait for one sender: whatever queued while a pipeline was out goes in the next
    /// one, with one WAIT for all of them, instead of a round trip (and a replica's) each.
    func enqueue(_ append: QueuedAppend) {
        let start = state.withLock { state in
            state.appendQueue.append(append)
            guard !state.sending else { return false }
            state.sending = true
            return true
        }
        // On the client's Redis thread: each pipeline then runs inline, without two thread hops.
        if start { Task(executorPreference: client.executor) { await self.drainAppends() } }
    }

    private func drainAppends() async {
        while true {
            let batch: [QueuedAppend] = state.withLock { state in
                var count = 0
                var bytes = 0
                for append in state.appendQueue {
                    bytes = bytes &+ append.bytes
                    guard count == 0 || (count < Self.batchAppends && bytes <= Self.batchBytes) else { break }
                    count += 1
                }
                let taken = Array(state.appendQueue.prefix(count))
                state.appendQueue.removeFirst(count)
                if taken.isEmpty { state.sending = false }
                return taken
            }
            if batch.isEmpty { return }
            await send(batch)
        }
    }

    private func send(_ batch: [QueuedAppend]) async {
        let at = min(max(options.clock(), DeliveryFrame.atRange.lowerBound), DeliveryFrame.atRange.upperBound)
        let scriptKeys = [keys.stream, keys.seq, keys.keys, keys.holds, keys.bytes, keys.probe, keys.at]
        let calls: [[[UInt8]]] = batch.map { append in
            var arguments: [[UInt8]] = [
                append.held ? "1" : "0", "\(at)", settings.wait == nil ? "0" : "1",
                append.admission.room.map { "\($0)" } ?? "",
            ].map { Array($0.utf8) }
            arguments.reserveCapacity(arguments.count + append.entries.count * 2)
            for entry in append.entries {
                arguments.append(Array(entry.key.utf8))
                arguments.append(entry.envelope)
            }
            return arguments
        }
        let waitCommand = settings.wait.map { $0.command.map { Array($0.utf8) } }
        var replies: [RedisReply]
        var waitReply: RedisReply?
        do {
            // One round trip on one connection: the WAIT covers every script's writes.
            var answered = try await client.pipeline(
                bytes: calls.map { RedisStreamScripts.append.command(keys: scriptKeys, arguments: $0) }
                    + (waitCommand.map { [$0] } ?? []))
            if waitCommand != nil { waitReply = answered.removeLast() }
            replies = answered
            let missing = replies.indices.filter { replies[$0].errorMessage.map(RedisScript.isMissing) ?? false }
            if !missing.isEmpty {
                var again = try await client.pipeline(
                    bytes: missing.map {
                        RedisStreamScripts.append.command(keys: scriptKeys, arguments: calls[$0], cached: false)
                    } + (waitCommand.map { [$0] } ?? []))
                if waitCommand != nil { waitReply = again.removeLast() }
                for (index, reply) in zip(missing, again) { replies[index] = reply }
            }
        } catch {
            for append in batch { await fail(append, written: nil, error: error) }
            return
        }
        var notDurable: (any Error)?
        if let wait = settings.wait, let waitReply {
            do { try wait.confirm(waitReply, endpoint: settings.server) } catch { notDurable = error }
        }
        for (append, reply) in zip(batch, replies) {
            if let message = reply.errorMessage {
                await fail(append, written: nil, error: RedisError.server(message: message))
                continue
            }
            guard let written = Written(reply, entries: append.entries.count) else {
                await fail(
                    append, written: nil, error: RedisError.unexpectedReply("the append script answered \(reply)"))
                continue
            }
            guard case .appended(let first, let fresh, let duplicates, let stamped) = written else {
                state.withLock { $0.window.release(append.admission.inFlight) }
                append.completion(.failure(.backlogFull(limit: options.maxBacklogBytes)))
                continue
            }
            if let notDurable {
                await fail(append, written: written, error: notDurable)
                continue
            }
            await appended(append, first: first, fresh: fresh, duplicates: duplicates, at: stamped)
        }
    }

    /// The append is answered 503 (or refused as closed). A held part the script wrote is voided
    /// at once, so it neither stalls forwarding until the hold expires nor keeps its keys from
    /// the sender's retry. Records it wrote otherwise stay: the retry is deduplicated, and
    /// answered once `WAIT` confirms them.
    private func fail(_ append: QueuedAppend, written: Written?, error: any Error) async {
        state.withLock { $0.window.release(append.admission.inFlight) }
        if append.held, case .appended(let first, let fresh, _, _)? = written,
            let last = lastSeq(from: first, count: fresh.count)
        {
            await writeVoid(first...last)
        }
        if case RedisError.closed = error { return append.completion(.failure(.closed)) }
        // Once a second at most: during an outage every request fails the same way.
        let due = state.withLock { state in
            let now = ContinuousClock.now
            guard state.lastFailureLog.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            state.lastFailureLog = now
            return true
        }
        if due {
            logger.error(
                "Redis journal append failed; answered 503 until Redis takes appends again",
                metadata: ["error": "\(error)", "messages": "\(append.entries.count)"])
        }
        append.completion(.failure(.storage(storageReason(error))))
    }

    /// The append is durable: its records go into the window (after any other instance's that
    /// came before them), then the sender is answered and forwarding woken.
    private func appended(_ append: QueuedAppend, first: UInt64, fresh: [Int], duplicates: Int, at stamped: Int64)
        async
    {
        let entries = append.entries
        var receipt = AppendReceipt(appended: fresh.count, duplicates: duplicates)
        var caughtUp = true
        if let last = lastSeq(from: first, count: fresh.count) {
            let range = first...last
            if append.held { receipt.held = range }
            caughtUp = state.withLock { state in
                guard state.window.lastSeq + 1 >= first else { return false }
                for (offset, index) in fresh.enumerated() {
                    let record = JournalRecord(
                        seq: first + UInt64(offset), at: stamped, key: entries[index].key,
                        envelope: entries[index].envelope)
                    _ = state.window.add(record, hold: append.held ? range : nil)
                }
                return true
            }
            if !caughtUp { caughtUp = await catchUp(through: last) }
        }
        let listener = state.withLock { state in
            state.window.release(append.admission.inFlight)
            state.appendedTotal += UInt64(fresh.count)
            state.duplicatesTotal += UInt64(duplicates)
            return state.onDurable
        }
        options.timings?.append.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - append.started))
        append.completion(.success(receipt))
        if !fresh.isEmpty, caughtUp { listener?() }
    }

    /// What the append script did.
    enum Written: Sendable, Equatable {
        /// `fresh`: the indices (into the call's entries) of the records appended, from seq `first`.
        case appended(first: UInt64, fresh: [Int], duplicates: Int, at: Int64)
        case refused

        init?(_ reply: RedisReply, entries: Int) {
            guard let items = reply.array, let head = items.first?.int else { return nil }
            if head == -1 {
                self = .refused
                return
            }
            guard items.count >= 4, head >= 1, UInt64(head) <= RedisStreamEntry.maxSeq, let appended = items[1].int,
                let duplicates = items[2].int,
                let at = items[3].string.flatMap({ Int64($0) }), DeliveryFrame.atRange.contains(at), appended >= 0,
                duplicates >= 0,
                items.count == 4 + appended, appended + duplicates == entries
            else { return nil }
            var fresh: [Int] = []
            for item in items.dropFirst(4) {
                guard let index = item.int, index >= 0, index < entries else { return nil }
                fresh.append(index)
            }
            self = .appended(first: UInt64(head), fresh: fresh, duplicates: duplicates, at: at)
        }
    }

    /// The last seq of `count` records from `first` (nil for none, or past UInt64).
    func lastSeq(from first: UInt64, count: Int) -> UInt64? {
        guard count > 0 else { return nil }
        let (last, overflow) = first.addingReportingOverflow(UInt64(count) - 1)
        return overflow ? nil : last
    }

    /// Other instances appended between the window's end and this append: read them (they are
    /// durable: this append's WAIT covered everything before it) so forwarding sees seq order
    /// without waiting for the reader. False when that failed or read nothing new; the reader,
    /// which follows the stream in order, fills in later. What it reads goes through `apply`,
    /// as the reader's reads do; it never declares a hole of its own.
    func catchUp(through last: UInt64) async -> Bool {
        while true {
            let from = state.withLock { $0.window.lastSeq + 1 }
            guard from <= last else { return true }
            switch await catchUpRead(from: from, through: last) {
            case .advanced, .overtaken: continue
            case .nothingNew, .failed: return false
            }
        }
    }

    /// What one read of `catchUp` did.
    enum CatchUpRead: Sendable, Equatable {
        case advanced
        /// The reader took the same records in between this read and its apply: right after an
        /// instance comes back, both read the same `readCount` entries from the same place. The
        /// branch that once treated this as "the stream lost the records" voided everything up
        /// to the append's last seq, and a worker skipped 20 acknowledged messages (RELIABILITY.md).
        case overtaken
        case nothingNew
        case failed
    }

    /// One catch-up read from `from`, where the window ended when the read was decided.
    func catchUpRead(from: UInt64, through last: UInt64) async -> CatchUpRead {
        let parsed: (entries: [(RedisStreamEntry.Position, RedisStreamEntry)], unplaced: [String])
        do {
            parsed = RedisStreamEntry.parse(
                try await client.command([
                    "XRANGE", keys.stream, "\(from)-0", "\(last)-0", "COUNT", "\(Self.readCount)",
                ]))
        } catch {
            return .failed
        }
        let (problems, before, advanced) = state.withLock { state in
            let before = state.window.lastSeq
            let problems = apply(parsed.entries, unplaced: parsed.unplaced, to: &state)
            return (problems, before, state.window.lastSeq > before)
        }
        report(problems)
        if advanced { return .advanced }
        if before >= from { return .overtaken }
        // Redis just answered for records up to `last` and a stream only grows in ID order, so
        // this read should have shown them; logged with what came back, so a next time says why.
        logger.warning(
            "Redis journal catch-up read did not show the records just appended; the reader brings them in",
            metadata: [
                "from": "\(from)", "through": "\(last)", "entries": "\(parsed.entries.count)",
                "first": .string(parsed.entries.first?.0.id ?? "-"),
                "last": .string(parsed.entries.last?.0.id ?? "-"),
                "unplaced": "\(parsed.unplaced.count)", "stream": .string(keys.stream),
            ])
        return .nothingNew
    }

    // MARK: Held parts

    /// Forwarded here at once; the reader writes the release for the other instances (before
    /// it stops, too), retrying until Redis takes it.
    func releaseHold(_ range: ClosedRange<UInt64>) {
        let listener = state.withLock { state in
            state.window.release(range)
            state.unwrittenReleases.append(range)
            return state.onDurable
        }
        listener?()
    }

    func void(_ range: ClosedRange<UInt64>, completion: @escaping @Sendable (Bool) -> Void) {
        Task { completion(await self.writeVoid(range)) }
    }

    /// Voids the part in Redis (marker, void range, keys given back), then here. False when Redis
    /// decided otherwise first (the hold expired: released) or could not be asked: then the part
    /// is released instead, in Redis too once it answers, so the sender's retry is deduplicated.
    @discardableResult
    func writeVoid(_ range: ClosedRange<UInt64>) async -> Bool {
        let voided: Bool
        do {
            let reply = try await run(
                RedisStreamScripts.void, keys: [keys.stream, keys.holds, keys.seq, keys.keys, keys.voids],
                arguments: ["\(range.lowerBound)", "\(range.upperBound)"])
            guard let decided = reply.int else { throw RedisError.unexpectedReply("the void script answered \(reply)") }
            voided = decided == 1
        } catch {
            logger.error(
                "cannot write the void marker; the part is released and the sender's retry is deduplicated",
                metadata: ["from": "\(range.lowerBound)", "to": "\(range.upperBound)", "error": "\(error)"])
            // Released here only once Redis says so: it may have run the void before the
            // connection broke, and then the marker (read back) voids it here as everywhere.
            state.withLock { $0.unwrittenReleases.append(range) }
            return false
        }
        let listener = state.withLock { state in
            if voided { state.window.void(range) } else { state.window.release(range) }
            return state.onDurable
        }
        listener?()
        return voided
    }

    /// Runs `script` on `client` (the journal's own by default), as EVAL when Redis lost it.
    @discardableResult
    func run(_ script: RedisScript, keys: [String], arguments: [String], on client: RedisClient? = nil) async throws
        -> RedisReply
    {
        let client = client ?? self.client
        do {
            return try await client.command(script.command(keys: keys, arguments: arguments))
        } catch RedisError.server(let message) where RedisScript.isMissing(message) {
            return try await client.command(script.command(keys: keys, arguments: arguments, cached: false))
        }
    }

    /// Releases the held part in Redis unless its fate was decided already (then 0).
    func writeRelease(_ range: ClosedRange<UInt64>) async throws -> RedisReply {
        try await run(
            RedisStreamScripts.release, keys: [keys.stream, keys.holds, keys.seq],
            arguments: ["\(range.lowerBound)", "\(range.upperBound)"])
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        let (scaled, overflow) = parts.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : scaled &+ parts.attoseconds / 1_000_000_000
    }
}
