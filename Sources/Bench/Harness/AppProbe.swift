import Foundation
import Shared

/// One app's entry of `GET /v1/apps/{app}`: what the recovery and fleet modes watch.
struct AppProbe: Sendable {
    var connected: Bool
    var pid: Int32?
    var ackedSeq: Int
    var backlogMessages: Int
    var lastSeq: Int

    init?(_ object: [String: Any]?) {
        guard let object else { return nil }
        let worker = object["worker"] as? [String: Any] ?? [:]
        let journal = object["journal"] as? [String: Any] ?? [:]
        connected = worker["connected"] as? Bool ?? false
        pid = (worker["pid"] as? Int).map { Int32($0) }
        ackedSeq = object["last_acked_seq"] as? Int ?? 0
        backlogMessages = journal["backlog_messages"] as? Int ?? 0
        lastSeq = journal["last_seq"] as? Int ?? 0
    }

    /// Asks the listener's HTTP port; the long timeout rides out a listener busy with the load.
    static func fetch(app: String, port: Int) throws -> AppProbe {
        let response = try BlockingHTTPClient(timeout: 30).request("GET", "http://127.0.0.1:\(port)/v1/apps/\(app)")
        guard response.status == 200, let probe = AppProbe(response.object) else {
            throw BenchFailure(
                "GET /v1/apps/\(app) answered \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            )
        }
        return probe
    }
}
