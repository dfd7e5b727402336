import NIOConcurrencyHelpers
import Shared

/// The recent messages that moved or named an executor, by id, for the `why` op: the events
/// stream keeps only their ids (`cause`), and the listener's journal is not the worker's to read.
/// In memory only, bounded in count and size: a message older than the last `capacity` such
/// messages, or from before a restart, is shown by its id alone.
final class CauseMessages: Sendable {
    static let capacity = 256
    /// A larger envelope is not kept (the worst case stays `capacity` times this).
    static let maxEnvelopeBytes = 16 * 1024

    private struct Ring {
        var byID: [String: ValidEnvelope] = [:]
        var order: [String] = []
    }

    private let ring = NIOLockedValueBox(Ring())

    /// Called after the commit that made the messages' effects visible, so `why` never shows a
    /// message whose events are not in the stream yet. The values are kept as they are, a scanned
    /// envelope as its bytes: encoding or parsing each one here cost a worker ~5% of its CPU, for
    /// answers that are rarely asked for.
    func remember(_ envelopes: [ValidEnvelope]) {
        let kept = envelopes.suffix(Self.capacity).filter { Self.estimatedSize($0) <= Self.maxEnvelopeBytes }
        guard !kept.isEmpty else { return }
        ring.withLockedValue { ring in
            for envelope in kept {
                if ring.byID.updateValue(envelope, forKey: envelope.id) == nil { ring.order.append(envelope.id) }
            }
            let excess = ring.order.count - Self.capacity
            if excess > 0 {
                for id in ring.order.prefix(excess) { ring.byID[id] = nil }
                ring.order.removeFirst(excess)
            }
        }
    }

    func message(_ id: String) -> Envelope? {
        ring.withLockedValue { $0.byID[id] }?.envelope
    }

    /// The envelope's JSON size when its bytes are kept, else `estimatedSize` of the value.
    static func estimatedSize(_ envelope: ValidEnvelope) -> Int {
        envelope.byteCount ?? envelope.envelope.map(estimatedSize) ?? 0
    }

    /// An upper bound of the envelope's JSON size (every string counted as if escaped twice over),
    /// without encoding it.
    static func estimatedSize(_ envelope: Envelope) -> Int {
        var size =
            128 + 2 * (envelope.id.utf8.count + (envelope.app?.utf8.count ?? 0) + (envelope.time?.utf8.count ?? 0))
        var pending: [JSONValue] = [envelope.body]
        while let value = pending.popLast(), size <= maxEnvelopeBytes {
            switch value {
            case .string(let text): size += 2 + 6 * text.utf8.count
            case .number, .bool, .null: size += 32
            case .array(let items):
                size += 2 + items.count
                pending.append(contentsOf: items)
            case .object(let fields):
                size += 2 + fields.count
                for (key, member) in fields {
                    size += 3 + 6 * key.utf8.count
                    pending.append(member)
                }
            }
        }
        return size
    }
}
