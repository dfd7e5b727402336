import Logging
import Shared

/// Replaying what a worker lost (DESIGN section 10): the acknowledged records it needs are read
/// back from the stream; those retention already trimmed are reported as a gap.
extension RedisStreamJournal {
    /// On the reader: answers the rewinds asked for. One Redis cannot answer stays queued (the
    /// link waits in its rewinding phase) rather than turning retained records into a gap.
    func answerRewinds() async {
        let pending = state.withLock { state in
            defer { state.rewinds.removeAll() }
            return state.rewinds
        }
        for (index, rewind) in pending.enumerated() {
            do {
                rewind.completion(try await self.rewind(to: rewind.target))
            } catch {
                logger.error(
                    "cannot read acknowledged records back from the Redis journal; retrying",
                    metadata: ["error": "\(error)", "stream": .string(keys.stream)])
                state.withLock { $0.rewinds.insert(contentsOf: pending[index...], at: 0) }
                return
            }
        }
    }

    private func rewind(to target: UInt64) async throws -> RewindOutcome {
        let acked = state.withLock { $0.window.ackedSeq }
        guard target < acked else { return RewindOutcome(acked: acked, gap: nil) }
        var found: [UInt64: JournalRecord?] = [:]
        var first: UInt64?
        var start = "\(target + 1)-0"
        var problems = Problems()
        while true {
            let parsed = RedisStreamEntry.parse(
                try await client.command(["XRANGE", keys.stream, start, "\(acked)-0", "COUNT", "\(Self.readCount)"]))
            problems.malformed += parsed.unplaced
            for (position, entry) in parsed.entries where position.sub == 0 {
                switch entry {
                case .record(let record, _):
                    found[record.seq] = record
                case .malformed(let id, _, let reason):
                    problems.malformed.append("\(id): \(reason)")
                    found[position.seq] = .some(nil)
                case .release, .void:
                    continue
                }
                first = first ?? position.seq
            }
            guard let last = parsed.entries.last?.0, parsed.entries.count == Self.readCount else { break }
            start = "(" + last.id
        }
        let voids = try await voidRanges()
        // Everything before the first record still in the stream is gone: the gap.
        var from = first ?? (acked + 1)
        var gap: ClosedRange<UInt64>?
        if from <= acked, acked - from >= UInt64(found.count) + RedisStreamWindow.maxHole {
            // The stream holds far fewer records than the acknowledged seq claims (an `acked`
            // key not written by this journal): nothing sensible to replay, and filling the
            // difference with placeholders would take memory without bound.
            problems.malformed.append("\(keys.acked) \(acked) is far past the \(found.count) records retained")
            from = acked + 1
        }
        report(problems)
        if from > target + 1 { gap = (target + 1)...min(from - 1, acked) }
        var records: [JournalRecord?] = []
        if from <= acked {
            records.reserveCapacity(Int(acked - from + 1))
            for seq in from...acked {
                // A seq missing inside what is retained cannot be replayed: a void placeholder.
                records.append(found[seq] ?? nil)
            }
        }
        let outcome: RewindOutcome? = state.withLock { state in
            guard state.window.ackedSeq == acked else { return nil }
            if !records.isEmpty {
                guard state.window.rewind(records, from: from, voids: voids) else { return nil }
            }
            if let gap, gap.upperBound > state.skippedThrough {
                state.skippedTotal += gap.upperBound - max(gap.lowerBound, state.skippedThrough + 1) + 1
                state.skippedThrough = gap.upperBound
            }
            state.persistedAck = state.window.ackedSeq
            return RewindOutcome(acked: state.window.ackedSeq, gap: gap)
        }
        guard let outcome else { return RewindOutcome(acked: ackedSeqNow, gap: nil) }
        if let gap {
            logger.error(
                "records the worker needs are gone from the Redis journal; skipping them",
                metadata: [
                    "from": "\(gap.lowerBound)", "to": "\(gap.upperBound)",
                    "skipped": "\(gap.upperBound - gap.lowerBound + 1)",
                    "journal_retain_ms": "\(options.retention.retainMs)",
                ])
        }
        if !records.isEmpty {
            logger.warning(
                "worker is behind the acknowledged seq (its Redis lost writes); replaying from the journal",
                metadata: ["from": "\(from)", "to": "\(acked)"])
            // Lowered in Redis at once (a plain SET, not the growing-only script): until then a
            // restart would not replay them.
            do {
                try await client.command(["SET", keys.acked, "\(outcome.acked)"])
            } catch {
                logger.error("cannot persist the lowered acknowledged seq", metadata: ["error": "\(error)"])
            }
        }
        return outcome
    }

    /// The void ranges Redis holds; a field that is not a range is skipped (its records are then
    /// replayed as messages: their keys were given back, so at worst a retry counts twice).
    private func voidRanges() async throws -> [ClosedRange<UInt64>] {
        guard let flat = try await client.command(["HGETALL", keys.voids]).strings else { return [] }
        var ranges: [ClosedRange<UInt64>] = []
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            if let range = RedisStreamEntry.range(Array("\(flat[index])-\(flat[index + 1])".utf8)) {
                ranges.append(range)
            }
        }
        return ranges
    }
}
