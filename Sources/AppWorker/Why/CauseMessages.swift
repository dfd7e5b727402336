import Foundation
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
        var byID: [String: Data] = [:]
        var order: [String] = []
    }

    private let ring = NIOLockedValueBox(Ring())
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Called after the commit that made the messages' effects visible, so `why` never shows a
    /// message whose events are not in the stream yet.
    func remember(_ envelopes: [Envelope]) {
        guard !envelopes.isEmpty else { return }
        let encoded = envelopes.compactMap { envelope -> (String, Data)? in
            guard let data = try? Self.encoder.encode(envelope), data.count <= Self.maxEnvelopeBytes else { return nil }
            return (envelope.id, data)
        }
        ring.withLockedValue { ring in
            for (id, data) in encoded {
                if ring.byID.updateValue(data, forKey: id) == nil { ring.order.append(id) }
            }
            let excess = ring.order.count - Self.capacity
            if excess > 0 {
                for id in ring.order.prefix(excess) { ring.byID[id] = nil }
                ring.order.removeFirst(excess)
            }
        }
    }

    func message(_ id: String) -> Envelope? {
        guard let data = ring.withLockedValue({ $0.byID[id] }) else { return nil }
        return try? JSONDecoder().decode(Envelope.self, from: data)
    }
}
