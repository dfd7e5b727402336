import Foundation
import Synchronization

/// How many `list` adds the listener takes per app and minute from non-admin senders (a WAF):
/// each entry is kept, published and matched by the left bracket on every request, so a WAF
/// token must not grow an app's lists without bound. Past the quota a sender is answered 429
/// and retries later; operators (the `admin` source) are not limited. The worker caps the
/// entries it keeps as well (`ListBook.maxEntriesPerList`).
final class ListAddQuota: Sendable {
    static let addsPerMinute = 600

    private struct Window {
        var start: Int64
        var count: Int
    }

    private let windows = Mutex<[String: Window]>([:])
    private let limit: Int

    init(limit: Int = ListAddQuota.addsPerMinute) {
        self.limit = limit
    }

    /// Takes one add of `app` at `now` (unix ms); false when the minute's quota is spent.
    func take(app: String, now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) -> Bool {
        windows.withLock { windows in
            var window = windows[app] ?? Window(start: now, count: 0)
            if now &- window.start >= 60_000 || now < window.start { window = Window(start: now, count: 0) }
            guard window.count < limit else { return false }
            window.count += 1
            windows[app] = window
            return true
        }
    }

    var refusal: String {
        "list adds: at most \(limit) per app and minute from non-admin tokens; retry later or ask an operator"
    }
}
