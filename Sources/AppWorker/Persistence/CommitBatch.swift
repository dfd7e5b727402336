import Foundation
import Shared

/// The Redis commands of one commit: everything a batch of events changed, to run as one
/// MULTI/EXEC so state sets, executor hashes, events, list changes, the published online set and
/// the applied (epoch, seq) move together (DESIGN section 6).
struct CommitBatch: Sendable {
    let keys: RedisKeys
    private(set) var commands: [[String]] = []
    private var touched: Set<String> = []
    private var hasContent = false

    /// Events kept in the stream; older ones are trimmed approximately.
    static let eventStreamLength = "100000"

    init(keys: RedisKeys) {
        self.keys = keys
    }

    var isEmpty: Bool { !hasContent }

    mutating func record(_ decision: Decision, now: Int64) {
        for transition in decision.transitions {
            if let from = transition.from {
                commands.append(["SREM", keys.state(from.rawValue), transition.executor])
            }
            if let to = transition.to {
                commands.append(["SADD", keys.state(to.rawValue), transition.executor])
            }
            commands.append(["XADD", keys.events, "MAXLEN", "~", Self.eventStreamLength, "*",
                             "kind", "transition", "executor", transition.executor,
                             "from", transition.from?.rawValue ?? "none", "to", transition.to?.rawValue ?? "removed",
                             "reason", transition.reason, "cause", transition.cause, "time", "\(now)"])
            hasContent = true
        }
        for note in decision.notes {
            commands.append(["XADD", keys.events, "MAXLEN", "~", Self.eventStreamLength, "*",
                             "kind", "note", "executor", note.executor ?? "", "reason", note.reason,
                             "cause", note.cause, "time", "\(now)"])
            hasContent = true
        }
        for change in decision.listChanges {
            let key = keys.list(change.list.rawValue)
            commands.append([change.op == .add ? "SADD" : "SREM", key, change.url])
            var published: [String: String] = ["list": change.list.rawValue, "op": change.op.rawValue,
                                               "url": change.url]
            if let ttl = change.ttl { published["ttl"] = DurationText.format(ttl) }
            commands.append(["PUBLISH", keys.listsChannel, Self.json(published)])
            hasContent = true
        }
        touched.formUnion(decision.touched)
        if !decision.touched.isEmpty || decision.metaChanged { hasContent = true }
    }

    /// Writes the final values of every touched executor once, however often the batch touched it.
    mutating func finish(pool: ExecutorPool, publication: OnlineView?, applied: (epoch: String, seq: UInt64)?,
                         commit: Int64) {
        for id in touched.sorted() {
            if let executor = pool.executors[id] {
                commands.append(["HSET", keys.executor(id)] + Self.fields(executor))
            } else {
                commands.append(["DEL", keys.executor(id)])
            }
        }
        touched.removeAll()
        commands.append(["HSET", keys.meta, "next_executor", "\(pool.meta.nextExecutorNumber)",
                         "paused", pool.meta.paused ? "1" : "0", "online_version", "\(pool.meta.onlineVersion)",
                         "commit", "\(commit)"])
        if let publication {
            let text = String(decoding: (try? Self.encoder.encode(publication)) ?? Data(), as: UTF8.self)
            commands.append(["SET", keys.onlineView, text])
            commands.append(["PUBLISH", keys.onlineChannel, text])
        }
        if let applied {
            commands.append(["HSET", keys.applied, "epoch", applied.epoch, "seq", "\(applied.seq)"])
        }
    }

    static func fields(_ executor: Executor) -> [String] {
        ["id", executor.id, "variant", executor.variant, "host", executor.host, "endpoint", executor.endpoint,
         "state", executor.state.rawValue, "since", "\(executor.since)",
         "confidence", String(format: "%.4f", executor.confidence), "dissents", "\(executor.dissents)",
         "reason", executor.reason, "flagged", executor.flagged ? "1" : "0"]
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func json(_ object: [String: String]) -> String {
        String(decoding: (try? encoder.encode(object)) ?? Data(), as: UTF8.self)
    }
}
