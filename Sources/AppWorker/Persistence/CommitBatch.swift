import Foundation
import Scheduling
import Shared

/// The Redis commands of one commit: everything a batch of events changed, run atomically (one
/// guarded script, see `StateStore.commit`) so state sets, executor hashes, events, list changes,
/// the published online set and the applied (epoch, seq) move together (DESIGN section 6).
struct CommitBatch: Sendable {
    let keys: RedisKeys
    private(set) var commands: [[String]] = []
    private var touched: Set<String> = []
    private var hasContent = false
    /// The commit counter this batch stores in `mimic:{app}:meta` (set by `finish`).
    private(set) var commitNumber: Int64 = 0
    /// The stream entries this batch adds (field, value, … as XADD takes them), for the socket's
    /// `events` op once committed.
    private(set) var events: [[String]] = []

    /// Events kept in the stream; older ones are trimmed approximately.
    static let eventStreamLength = "100000"
    static let deadLetterStreamLength = "10000"

    init(keys: RedisKeys) {
        self.keys = keys
    }

    var isEmpty: Bool { !hasContent }

    mutating func record(_ decision: Decision, now: Int64) {
        for transition in decision.transitions {
            if let from = transition.from {
                commands.append(["SREM", keys.state(from), transition.executor])
            }
            if let to = transition.to {
                commands.append(["SADD", keys.state(to), transition.executor])
            }
            appendEvent([
                "kind", "transition", "executor", transition.executor,
                "from", transition.from?.rawValue ?? "none", "to", transition.to?.rawValue ?? "removed",
                "reason", transition.reason, "cause", transition.cause, "time", "\(now)",
            ])
        }
        for note in decision.notes {
            appendEvent([
                "kind", "note", "executor", note.executor ?? "", "reason", note.reason,
                "cause", note.cause, "time", "\(now)",
            ])
        }
        for update in decision.listChanges {
            let key = keys.list(update.list.rawValue)
            let expiryKey = keys.listExpiry(update.list.rawValue)
            switch update.op {
            case .add:
                commands.append(["SADD", key, update.url])
                if let expiresAt = update.expiresAt {
                    commands.append(["ZADD", expiryKey, "\(expiresAt)", update.url])
                } else {
                    commands.append(["ZREM", expiryKey, update.url])
                }
            case .remove:
                commands.append(["SREM", key, update.url])
                commands.append(["ZREM", expiryKey, update.url])
            }
            let published = ListPublication(
                list: update.list.rawValue, op: update.op.rawValue, url: update.url,
                expiresAt: update.expiresAt, reason: update.reason, cause: update.cause)
            commands.append(["PUBLISH", keys.listsChannel, published.text])
            appendEvent([
                "kind", "list", "list", update.list.rawValue, "op", update.op.rawValue, "url", update.url,
                "expires_at", update.expiresAt.map { "\($0)" } ?? "", "reason", update.reason,
                "cause", update.cause, "time", "\(now)",
            ])
        }
        for change in decision.hostChanges {
            commands += Self.hostCommands(change, key: keys.host(change.report.host), now: now)
            hasContent = true
            if change.changed {
                appendEvent([
                    "kind", "host", "host", change.report.host, "to", change.report.up ? "up" : "down",
                    "reason", change.report.detail, "time", "\(now)",
                ])
            }
        }
        touched.formUnion(decision.touched)
        if !decision.touched.isEmpty || decision.metaChanged { hasContent = true }
    }

    /// The policy memory the batch's decisions leave behind, when it changed (DESIGN section 10).
    mutating func recordPolicy(_ memory: PolicyMemory) {
        commands.append(["SET", keys.policy, memory.json])
        hasContent = true
    }

    /// A frame the worker died on three times in a row: its envelope goes to the dead-letter
    /// stream, an event says so, and the frame counts as applied (DESIGN section 10).
    mutating func recordDeadLetter(_ letter: DeadLetter, now: Int64) {
        commands.append(
            [
                "XADD", keys.deadLetters, "MAXLEN", "~", Self.deadLetterStreamLength, "*", "epoch", letter.epoch,
                "seq", "\(letter.seq)", "id", letter.id, "deaths", "\(letter.deaths)", "envelope", letter.envelope,
            ])
        commands.append(["HINCRBY", keys.meta, "dead_letters", "1"])
        appendEvent([
            "kind", "dead_letter", "executor", "",
            "reason",
            "the worker died \(letter.deaths) times in a row on seq \(letter.seq); the envelope is on "
                + "\(keys.deadLetters)",
            "cause", letter.id, "time", "\(now)",
        ])
    }

    /// Journal seqs the listener no longer has (older than `journal_retain`): skipped, counted and
    /// said in an event. A void range (seqs the listener voided itself: a multi-app part another
    /// journal refused, or a seq its journal could not read) moves the cursor and is counted in
    /// `voided`, no event: with no multi-app requests, a count that moves points at the journal.
    mutating func recordGap(_ gap: GapFrame, now: Int64) {
        hasContent = true
        guard !gap.isVoid else {
            commands.append(["HINCRBY", keys.meta, "voided", "\(gap.skipped)"])
            return
        }
        commands.append(["HINCRBY", keys.meta, "skipped", "\(gap.skipped)"])
        appendEvent([
            "kind", "gap", "executor", "",
            "reason",
            "journal seqs \(gap.gap.from)...\(gap.gap.to) of epoch \(gap.gap.epoch) are gone from the "
                + "listener's journal (older than journal_retain); \(gap.skipped) messages skipped",
            "cause", "seq-\(gap.gap.from)", "time", "\(now)",
        ])
    }

    /// A forensics capture ended (issue 19 item 5): the event names the executor, the capture's
    /// status, its directory and manifest, and the cause that made the executor dirty, so the
    /// audit trail leads to the evidence. A capture that kept nothing says what to check.
    mutating func recordForensics(_ outcome: CaptureOutcome, now: Int64) {
        let request = outcome.request
        let reason: String
        if let error = outcome.error {
            reason = "evidence of \(request.executor) not kept: \(error)"
        } else if let manifest = outcome.manifest {
            let problems = manifest.problems.joined(separator: "; ")
            switch manifest.status {
            case .complete, .partial:
                let bytes = manifest.artifacts.reduce(Int64(0)) { $0 + $1.bytes }
                reason =
                    "evidence of \(request.executor) kept: \(manifest.artifacts.map(\.name).joined(separator: ", ")) "
                    + "(\(bytes) bytes)" + (problems.isEmpty ? "" : "; missing: \(problems)")
            case .failed:
                reason =
                    "evidence of \(request.executor) not kept: \(problems); it is cleaned without it. Check host "
                    + "\(request.host) and forensics.timeout"
            case .unsupported:
                reason = "no evidence of \(request.executor): \(problems)"
            }
        } else {
            reason = "evidence of \(request.executor) not kept"
        }
        appendEvent([
            "kind", "forensics", "executor", request.executor, "status", outcome.status.rawValue,
            "dir", outcome.directory, "manifest", outcome.manifest == nil ? "" : outcome.manifestPath,
            "dirty_since", "\(request.dirtySince)", "reason", reason, "cause", request.cause, "time", "\(now)",
        ])
    }

    /// `fields` alternates names and values, as XADD takes them.
    private mutating func appendEvent(_ fields: [String]) {
        commands.append(["XADD", keys.events, "MAXLEN", "~", Self.eventStreamLength, "*"] + fields)
        events.append(fields)
        hasContent = true
    }

    /// Writes the final values of every touched executor once, however often the batch touched it.
    mutating func finish(
        pool: ExecutorPool, publication: OnlineView?, applied: (epoch: String, seq: UInt64)?,
        commit: Int64
    ) {
        commitNumber = commit
        for id in touched.sorted() {
            if let executor = pool.executors[id] {
                commands.append(["HSET", keys.executor(id)] + executor.hashFields)
            } else {
                commands.append(["DEL", keys.executor(id)])
            }
        }
        touched.removeAll()
        commands.append([
            "HSET", keys.meta, "next_executor", "\(pool.meta.nextExecutorNumber)",
            "paused", pool.meta.paused ? "1" : "0", "online_version", "\(pool.meta.onlineVersion)",
            "commit", "\(commit)",
        ])
        if let publication {
            let text = publication.text
            commands.append(["SET", keys.onlineView, text])
            commands.append(["PUBLISH", keys.onlineChannel, text])
        }
        if let applied {
            commands.append(["HSET", keys.applied, "epoch", applied.epoch, "seq", "\(applied.seq)"])
        }
    }

    /// `mimic:{app}:host:{name}`: status, since (unix ms of the last change), failures (failed
    /// probes in a row at the last report) and detail (the last probe's outcome).
    static func hostCommands(_ change: HostChange, key: String, now: Int64) -> [[String]] {
        let report = change.report
        let fields = ["status", report.up ? "up" : "down", "failures", "\(report.failures)", "detail", report.detail]
        if change.changed { return [["HSET", key] + fields + ["since", "\(now)"]] }
        return [["HSET", key] + fields, ["HSETNX", key, "since", "\(now)"]]
    }
}

/// What the dead-letter stream keeps of a frame (DESIGN section 10).
struct DeadLetter: Sendable, Equatable {
    var epoch: String
    var seq: UInt64
    /// The envelope's id, or `seq-N` when it had none the worker could read.
    var id: String
    /// The envelope as the frame carried it.
    var envelope: String
    var deaths: Int
}
