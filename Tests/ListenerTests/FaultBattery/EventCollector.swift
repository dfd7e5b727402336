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
    private let done = DispatchSemaphore(value: 0)

    init(fixture: ListenerFixture, apps: [String]) {
        self.fixture = fixture
        self.apps = apps
    }

    func start() {
        Thread { [self] in
            while !lock.withLock({ stopping }) {
                for app in apps { poll(app) }
                Thread.sleep(forTimeInterval: 0.3)
            }
            done.signal()
        }.start()
    }

    /// Stops polling and reads what is left.
    func finish() -> [String: [[String: String]]] {
        lock.withLock { stopping = true }
        done.wait()
        for app in apps { while poll(app) > 0 {} }
        return lock.withLock { collected }
    }

    /// Reads up to 20,000 entries after the last one seen; a Redis that is down or stopped just
    /// means "later" (redis-cli fails or times out, and the stream is not trimmed meanwhile).
    @discardableResult
    private func poll(_ app: String) -> Int {
        let start = lock.withLock { lastID[app].map { "(" + $0 } ?? "-" }
        guard
            let lines = try? fixture.redis.cliRaw(
                ["XRANGE", "mimic:\(app):events", start, "+", "COUNT", "20000"],
                db: fixture.db(app))
        else { return 0 }
        var entries: [[String: String]] = []
        var fields: [String] = []
        var newest: String?
        func flush() {
            guard !fields.isEmpty else { return }
            entries.append(fields.fieldPairs)
            fields.removeAll()
        }
        for line in lines {
            if line.range(of: #"^\d{13}-\d+$"#, options: .regularExpression) != nil {
                flush()
                newest = line
            } else if !line.isEmpty || !fields.isEmpty {
                fields.append(line)
            }
        }
        flush()
        lock.withLock {
            if let newest { lastID[app] = newest }
            collected[app, default: []].append(contentsOf: entries)
        }
        return entries.count
    }
}
