import Foundation
import Synchronization

/// Who did what to the fleet through the listener: worker control on the admin door and every
/// accepted `admin` message (set_state, list, rotate, pause, resume), with the token's name.
/// One JSON object per line in `<journal_dir>/audit.log` (rotated to `audit.log.1` past
/// `maxBytes`), and the latest entries in memory for `GET /v1/audit`.
final class AuditTrail: Sendable {
    struct Entry: Codable, Sendable, Equatable {
        /// Unix milliseconds.
        var time: Int64
        var token: String
        var app: String
        /// `worker_start`, `worker_stop`, `worker_restart`, or the message type (`set_state`, ...).
        var action: String
        /// The message id, for messages: the worker's events carry it as their cause.
        var id: String?
        /// What the action named: the executor and state of a set_state, the list entry, the result.
        var detail: String?
    }

    static let maxBytes = 16 << 20
    static let keptInMemory = 1000

    private struct State {
        var file: FileHandle?
        var bytes: Int
        var recent: [Entry] = []
    }

    let path: String
    private let state: Mutex<State>

    init(journalDir: String) {
        path = journalDir + "/audit.log"
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        state = Mutex(State(file: Self.open(path), bytes: bytes))
    }

    private static func open(_ path: String) -> FileHandle? {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return nil }
        handle.seekToEndOfFile()
        return handle
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Appends one entry. A failed write loses the line on disk, never the action: the audit
    /// must not turn a disk problem into a refused operator command.
    func record(_ entry: Entry) {
        guard var line = try? Self.encoder.encode(entry) else { return }
        line.append(0x0A)
        state.withLock { state in
            state.recent.append(entry)
            if state.recent.count > Self.keptInMemory {
                state.recent.removeFirst(state.recent.count - Self.keptInMemory)
            }
            if state.bytes + line.count > Self.maxBytes {
                try? state.file?.close()
                try? FileManager.default.removeItem(atPath: path + ".1")
                try? FileManager.default.moveItem(atPath: path, toPath: path + ".1")
                state.file = Self.open(path)
                state.bytes = 0
            }
            do {
                try state.file?.write(contentsOf: line)
                state.bytes += line.count
            } catch {
                state.file = nil
            }
        }
    }

    func record(token: String, app: String, action: String, id: String? = nil, detail: String? = nil) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        record(Entry(time: now, token: token, app: app, action: action, id: id, detail: detail))
    }

    /// The latest `limit` entries, oldest first, of `app` when given.
    func recent(limit: Int, app: String?) -> [Entry] {
        state.withLock { state in
            let matching = app.map { name in state.recent.filter { $0.app == name } } ?? state.recent
            return Array(matching.suffix(max(0, limit)))
        }
    }
}

/// `GET /v1/audit`: the latest entries, oldest first.
struct AuditList: Encodable {
    var entries: [AuditTrail.Entry]
}
