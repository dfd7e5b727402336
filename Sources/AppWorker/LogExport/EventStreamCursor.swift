import Shared

/// Where the exporter stands in `mimic:{app}:events`, kept in `mimic:{app}:export:syslog` so a
/// restarted worker goes on after the last event it sent instead of sending the stream again.
struct ExportCursor: Sendable, Equatable {
    /// The stream id of the last event sent; `0-0` before the first.
    var lastID = "0-0"
    /// That event's position among all the entries the stream was ever given (1 for the first
    /// XADD); nil before the first. Comparing it with the stream's own count is what tells how
    /// many unsent events the stream trimmed.
    var ordinal: Int64?
    /// Unsent events the stream trimmed, since export began for this app.
    var dropped: Int64 = 0
}

/// Reads the committed events after a cursor, and stores the cursor. The stream is the exporter's
/// queue: the scheduler loop only commits (it never waits for the collector), the stream keeps at
/// most `CommitBatch.eventStreamLength` entries, and what it trims before the exporter sent it is
/// counted as dropped.
struct EventStreamCursor: Sendable {
    let keys: RedisKeys
    let redis: RedisClient
    /// The worker's fencing token (`--fence`); nil in one-machine mode.
    var fence: UInt64? = nil

    struct Batch: Sendable, Equatable {
        var events: [StreamEvent]
        /// The ordinal of `events[0]` (or of the next event, when empty).
        var firstOrdinal: Int64
        /// Unsent events the stream trimmed before this read.
        var trimmed: Int64
    }

    func load() async throws -> ExportCursor {
        let stored = try await redis.command(["HGETALL", keys.syslogCursor]).dictionary ?? [:]
        guard let lastID = stored["last_id"], !lastID.isEmpty else { return ExportCursor() }
        return ExportCursor(
            lastID: lastID, ordinal: stored["ordinal"].flatMap { Int64($0) },
            dropped: stored["dropped"].flatMap { Int64($0) }.map { max($0, 0) } ?? 0)
    }

    /// With a fence the cursor is stored only while the fence is still the worker's: the exporter
    /// of an instance that lost the app (paused past its lease, say) must not move the cursor of
    /// the new owner's exporter back or forth. Throws `FenceLost` when it is not.
    func save(_ cursor: ExportCursor) async throws {
        let write = [
            "HSET", keys.syslogCursor, "last_id", cursor.lastID, "ordinal", cursor.ordinal.map { "\($0)" } ?? "",
            "dropped", "\(cursor.dropped)",
        ]
        guard let fence else {
            try await redis.command(write)
            return
        }
        let reply = try await redis.command(StateStore.fenceGuarded([write], fence: fence, meta: keys.meta))
        if case .fenced(let stored) = try StateStore.fencedWrite(reply) {
            throw FenceLost(app: keys.app, refused: "the syslog export cursor write", ours: fence, stored: stored)
        }
    }

    /// Up to `limit` events after the cursor, read in one script together with the stream's
    /// length and all-time count so the trimmed ones are counted against the same state.
    func read(after cursor: ExportCursor, limit: Int) async throws -> Batch {
        let reply = try await redis.command([
            "EVAL", Self.readScript, "1", keys.events, "(" + cursor.lastID, "\(limit)",
        ])
        guard let parts = reply.array, parts.count == 3, let length = parts[0].int, let added = parts[1].int,
            let entries = parts[2].array
        else { throw RedisError.unexpectedReply("the events read answered \(reply)") }
        let events = try entries.map { entry -> StreamEvent in
            guard let pair = entry.array, pair.count == 2, let id = pair[0].string, let fields = pair[1].strings else {
                throw RedisError.unexpectedReply("a stream entry of \(keys.events) is not id and fields: \(entry)")
            }
            return StreamEvent(id: id, fields: fields)
        }
        return Self.batch(events: events, after: cursor, length: Int64(length), added: Int64(added))
    }

    /// `length` and `added` are the stream's XINFO `length` and `entries-added` at the read. The
    /// worker never deletes single entries, only trims the oldest, so the entries in the stream are
    /// the ordinals `added - length + 1 ... added`.
    static func batch(events: [StreamEvent], after cursor: ExportCursor, length: Int64, added: Int64) -> Batch {
        let (gone, overflow) = added.subtractingReportingOverflow(length)
        let oldestKept = overflow || gone < 0 || gone == .max ? nil : gone + 1
        guard let ordinal = cursor.ordinal else {
            // The first read: what the stream trimmed before export began was never due.
            return Batch(events: events, firstOrdinal: oldestKept ?? 1, trimmed: 0)
        }
        let (next, nextOverflow) = ordinal.addingReportingOverflow(1)
        guard !nextOverflow else { return Batch(events: events, firstOrdinal: ordinal, trimmed: 0) }
        // A stream behind the cursor (Redis restored from an older copy) trimmed nothing of ours.
        guard let oldestKept, oldestKept > next else { return Batch(events: events, firstOrdinal: next, trimmed: 0) }
        return Batch(events: events, firstOrdinal: oldestKept, trimmed: oldestKept - next)
    }

    /// KEYS[1] = the events stream; ARGV[1] = the exclusive start (`(id`), ARGV[2] = the count.
    /// Answers {length, entries-added, entries}; {0, 0, {}} while the stream does not exist.
    static let readScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, {}} end
        local info = redis.call('XINFO', 'STREAM', KEYS[1])
        local length, added = 0, 0
        for i = 1, #info, 2 do
          if info[i] == 'length' then length = info[i + 1] elseif info[i] == 'entries-added' then added = info[i + 1] end
        end
        return {length, added, redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])}
        """
}
