import Foundation
import Shared

/// One app's entry of `GET /v1/apps/{app}`: what the recovery and fleet modes watch.
struct AppProbe: Sendable {
    var connected: Bool
    var pid: Int32?
    var ackedSeq: Int
    var backlogMessages: Int
    var lastSeq: Int

    /// Read with the `/v1/apps` codec (Sources/Shared/Wire/AppStatus.swift).
    init?(_ body: [UInt8]) {
        guard let status = try? JSONDecoder().decode(AppStatus.self, from: Data(body)) else { return nil }
        connected = status.worker.connected
        pid = status.worker.pid.flatMap { Int32(exactly: $0) }
        ackedSeq = Int(clamping: status.lastAckedSeq)
        backlogMessages = status.journal.backlogMessages
        lastSeq = Int(clamping: status.journal.lastSeq)
    }

    /// Asks the listener's HTTP port; the long timeout rides out a listener busy with the load.
    static func fetch(app: String, port: Int) throws -> AppProbe {
        let response = try BlockingHTTPClient(timeout: 30).request("GET", "http://127.0.0.1:\(port)/v1/apps/\(app)")
        guard response.status == 200, let probe = AppProbe(response.body) else {
            throw BenchFailure(
                "GET /v1/apps/\(app) answered \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            )
        }
        return probe
    }
}
