import Shared

/// One entry of the journal stream as read back (XRANGE, XREAD). Everything is checked: the
/// stream is shared with other instances and with operators, so an entry that is not what the
/// append script writes is reported as `malformed` instead of trusted.
enum RedisStreamEntry: Sendable, Equatable {
    /// A record; `hold` is the part of a multi-app append it belongs to, if any.
    case record(JournalRecord, hold: ClosedRange<UInt64>?)
    /// The held part was released: forward it.
    case release(ClosedRange<UInt64>)
    /// The held part was voided: forward it as a void gap.
    case void(ClosedRange<UInt64>)
    /// Not an entry the journal writes; `seq` is the seq its ID names, when it names one.
    case malformed(id: String, seq: UInt64?, reason: String)

    /// The largest seq the journal uses: the scripts count in Lua numbers (doubles), exact up
    /// to 2^53. Anything larger read back is not ours, and bounding it keeps `seq + 1` safe.
    static let maxSeq: UInt64 = 1 << 53

    /// The position in the stream: (seq, n) of the ID `<seq>-<n>`.
    struct Position: Sendable, Equatable, Comparable {
        var seq: UInt64
        var sub: UInt64

        static let start = Position(seq: 0, sub: 0)

        var id: String { "\(seq)-\(sub)" }

        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.seq, lhs.sub) < (rhs.seq, rhs.sub) }

        init(seq: UInt64, sub: UInt64) {
            self.seq = seq
            self.sub = sub
        }

        init?(_ id: String) {
            let parts = id.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let seq = UInt64(parts[0]), let sub = UInt64(parts[1]) else { return nil }
            self.init(seq: seq, sub: sub)
        }
    }

    /// The entries of an XRANGE reply (or of one stream of an XREAD reply), with their positions;
    /// an element without a readable ID cannot be placed and is dropped with its reason in
    /// `unplaced`.
    static func parse(_ reply: RedisReply) -> (entries: [(Position, RedisStreamEntry)], unplaced: [String]) {
        guard let elements = reply.array else {
            return ([], reply.isNull ? [] : ["not an array of entries: \(reply)"])
        }
        var entries: [(Position, RedisStreamEntry)] = []
        var unplaced: [String] = []
        entries.reserveCapacity(elements.count)
        for element in elements {
            guard let pair = element.array, pair.count == 2, let id = pair[0].string, let position = Position(id)
            else {
                unplaced.append("entry without a stream ID of the form <seq>-<n>: \(element)")
                continue
            }
            entries.append((position, decode(position: position, id: id, fields: pair[1])))
        }
        return (entries, unplaced)
    }

    /// The entries of the journal stream in an XREAD reply (null when BLOCK timed out).
    static func parseRead(_ reply: RedisReply, stream: String) -> (
        entries: [(Position, RedisStreamEntry)], unplaced: [String]
    ) {
        guard let streams = reply.array else {
            return ([], reply.isNull ? [] : ["XREAD answered \(reply)"])
        }
        for item in streams {
            guard let pair = item.array, pair.count == 2, pair[0].string == stream else { continue }
            return parse(pair[1])
        }
        return ([], [])
    }

    private static func decode(position: Position, id: String, fields reply: RedisReply) -> RedisStreamEntry {
        guard let flat = reply.array, flat.count.isMultiple(of: 2) else {
            return .malformed(id: id, seq: position.seq, reason: "fields are not name/value pairs")
        }
        var fields: [String: [UInt8]] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].string, let value = flat[index + 1].bytes else {
                return .malformed(id: id, seq: position.seq, reason: "a field is not a string")
            }
            fields[name] = value
        }
        if position.sub != 0 {
            if let range = fields["release"].flatMap(range) { return .release(range) }
            if let range = fields["void"].flatMap(range) { return .void(range) }
            return .malformed(id: id, seq: nil, reason: "marker without a valid release or void range")
        }
        guard position.seq >= 1, position.seq <= maxSeq else {
            return .malformed(id: id, seq: nil, reason: "seq out of range")
        }
        guard let keyBytes = fields["key"], let key = String(validating: keyBytes, as: UTF8.self),
            keyBytes.count <= Int(UInt16.max)
        else {
            return .malformed(id: id, seq: position.seq, reason: "missing or invalid key")
        }
        guard let atText = fields["at"].flatMap({ String(validating: $0, as: UTF8.self) }), let at = Int64(atText),
            DeliveryFrame.atRange.contains(at)
        else {
            return .malformed(id: id, seq: position.seq, reason: "missing or out-of-range accept time")
        }
        guard let envelope = fields["env"], envelope.count <= JournalRecord.maxBodySize else {
            return .malformed(id: id, seq: position.seq, reason: "missing or oversized envelope")
        }
        var hold: ClosedRange<UInt64>?
        if let value = fields["hold"] {
            guard let held = range(value), held.contains(position.seq) else {
                return .malformed(id: id, seq: position.seq, reason: "hold range does not contain the record")
            }
            hold = held
        }
        return .record(JournalRecord(seq: position.seq, at: at, key: key, envelope: envelope), hold: hold)
    }

    /// `<first>-<last>`, 1 ≤ first ≤ last.
    static func range(_ bytes: [UInt8]) -> ClosedRange<UInt64>? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = UInt64(parts[0]), let last = UInt64(parts[1]), first >= 1, first <= last,
            last <= maxSeq
        else { return nil }
        return first...last
    }
}
