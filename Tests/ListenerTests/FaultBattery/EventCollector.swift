import Foundation
import Shared
import TestSupport

/// Reads each app's events stream while the battery runs. The stream is capped (MAXLEN ~ 100000
/// per app, CommitBatch.eventStreamLength), and a long run writes more than that, so reading it
/// once at the end would miss the oldest effects; polling from the last id seen keeps them all.
final class EventCollector: @unchecked Sendable {
    let fixture: ListenerFixture
    let apps: [String]
    private let lock = NSLock()
    private var lastID: [String: String] = [:]
    private var collected: [String: [[String: String]]] = [:]
    private var stopping = false
    private var started = false
    /// Set while Redis is rolled back: what a poll reads then may be about to vanish.
    private var suspended = false
    /// Counts rollbacks: a poll that read before one and files after it (parsing 20,000 entries
    /// can outlast a whole rollback) must drop what it read. The first 10-minute run with
    /// rollbacks counted 13,431 effects twice that way: entries the restore had undone were kept,
    /// and their replayed copies were read too.
    private var generation = 0
    /// Polls that found the stream's oldest entry past the last one read: the cap trimmed
    /// entries this collector never saw. Any count here makes "lost" a checker figure, not the
    /// system's, and the battery says so.
    private(set) var trimmedUnread: [String: Int] = [:]
    private let done = DispatchSemaphore(value: 0)

    init(fixture: ListenerFixture, apps: [String]) {
        self.fixture = fixture
        self.apps = apps
    }

    func start() {
        lock.withLock { started = true }
        Thread { [self] in
            while !lock.withLock({ stopping }) {
                for app in apps { poll(app) }
                Thread.sleep(forTimeInterval: 0.3)
            }
            done.signal()
        }.start()
    }

    /// Stops polling; idempotent (the test's cleanup calls it on every exit path).
    func stop() {
        let wasPolling = lock.withLock {
            defer { stopping = true }
            return started && !stopping
        }
        if wasPolling { done.wait() }
    }

    /// Stops polling and reads what is left.
    func finish() -> [String: [[String: String]]] {
        stop()
        for app in apps { while poll(app) > 0 {} }
        return lock.withLock { collected }
    }

    /// Before Redis is rolled back: polls stop keeping what they read.
    func suspend() {
        lock.withLock { suspended = true }
    }

    /// Redis was restored to a backup taken when each app's stream ended at `marks[app]` (nil: it
    /// was empty): entries after the mark were lost with it, and their effects happen again when
    /// the listener replays the messages. Forget them and read on from the mark.
    func rolledBack(to marks: [String: String?]) {
        lock.withLock {
            for app in apps {
                let mark = marks[app] ?? nil
                collected[app] = collected[app, default: []].filter { entry in
                    guard let id = entry["_id"] else { return true }
                    return mark.map { Self.order(id) <= Self.order($0) } ?? false
                }
                lastID[app] = mark
            }
            generation += 1
            suspended = false
        }
    }

    /// `<13 digits>-<digits>`, a stream entry id. By hand: a regular expression per line made one
    /// poll of 20,000 entries take seconds, and a collector that slow fell behind the cap.
    static func isEntryID(_ line: String) -> Bool {
        let bytes = Array(line.utf8)
        guard bytes.count >= 15, bytes[13] == UInt8(ascii: "-") else { return false }
        let digit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        return bytes[..<13].allSatisfy(digit) && bytes[14...].allSatisfy(digit)
    }

    private static func order(_ id: String) -> (UInt64, UInt64) {
        let parts = id.split(separator: "-")
        return (UInt64(parts.first ?? "") ?? 0, UInt64(parts.last ?? "") ?? 0)
    }

    /// Reads up to 20,000 entries after the last one seen; a Redis that is down or stopped just
    /// means "later" (redis-cli fails or times out, and the stream is not trimmed meanwhile).
    @discardableResult
    private func poll(_ app: String) -> Int {
        let (start, readIn) = lock.withLock { (lastID[app].map { "(" + $0 } ?? "-", generation) }
        guard
            let lines = try? fixture.redis.cliRaw(
                ["XRANGE", "mimic:\(app):events", start, "+", "COUNT", "20000"],
                db: fixture.db(app))
        else { return 0 }
        var entries: [[String: String]] = []
        var fields: [String] = []
        var newest: String?
        func flush() {
            guard !fields.isEmpty, let newest else { return }
            var entry = fields.fieldPairs
            entry["_id"] = newest
            entries.append(entry)
            fields.removeAll()
        }
        for line in lines {
            if Self.isEntryID(line) {
                flush()
                newest = line
            } else if !line.isEmpty || !fields.isEmpty {
                fields.append(line)
            }
        }
        flush()
        // After the read, so an entry trimmed between the two calls still shows up here.
        let oldest =
            start == "-"
            ? nil
            : (try? fixture.redis.cliRaw(
                ["XRANGE", "mimic:\(app):events", "-", "+", "COUNT", "1"], db: fixture.db(app)))?.first
        return lock.withLock {
            guard !suspended, generation == readIn else { return 0 }
            if let oldest, Self.isEntryID(oldest), let last = lastID[app], Self.order(oldest) > Self.order(last),
                !entries.isEmpty
            {
                trimmedUnread[app, default: 0] += 1
            }
            if let newest { lastID[app] = newest }
            collected[app, default: []].append(contentsOf: entries)
            return entries.count
        }
    }
}
