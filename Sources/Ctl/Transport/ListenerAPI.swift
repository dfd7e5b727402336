import Foundation

/// The listener's HTTP API as mimicctl uses it (DESIGN section 4, docs/listener.md). Every JSON
/// field name of the listener's answers is read here and nowhere else, so a change on the
/// listener's side is one edit.
struct ListenerAPI {
    var endpoint: HTTPEndpoint

    /// One app as `GET /v1/apps` reports it.
    struct AppStatus {
        var app: String
        var workerUp: Bool
        /// running, backoff, crash_loop, stopped, or unsupervised.
        var workerState: String
        var pid: Int?
        var restarts: Int?
        var backlogMessages: Int
        var backlogBytes: Int
        var deliveredSeq: Int
        var ackedSeq: Int
        var acceptedPerSecond: Double
        var ackedPerSecond: Double

        init(_ object: [String: Any]) {
            let worker = object["worker"] as? [String: Any] ?? [:]
            let journal = object["journal"] as? [String: Any] ?? [:]
            let rates = object["rates"] as? [String: Any] ?? [:]
            app = object["app"] as? String ?? "?"
            workerUp = worker["up"] as? Bool ?? false
            workerState = worker["state"] as? String ?? "unknown"
            pid = (worker["pid"] as? NSNumber)?.intValue
            restarts = (worker["restarts"] as? NSNumber)?.intValue
            backlogMessages = (journal["backlog_messages"] as? NSNumber)?.intValue ?? 0
            backlogBytes = (journal["backlog_bytes"] as? NSNumber)?.intValue ?? 0
            deliveredSeq = (object["last_delivered_seq"] as? NSNumber)?.intValue ?? 0
            ackedSeq = (object["last_acked_seq"] as? NSNumber)?.intValue ?? 0
            acceptedPerSecond = (rates["accepted_per_s"] as? NSNumber)?.doubleValue ?? 0
            ackedPerSecond = (rates["acked_per_s"] as? NSNumber)?.doubleValue ?? 0
        }
    }

    /// `GET /v1/apps`: the raw answer (for `--json`) and the decoded apps.
    func apps() throws -> (raw: [String: Any], apps: [AppStatus]) {
        let response = try endpoint.request("GET", "/v1/apps")
        guard response.status == 200, let object = response.object, let apps = object["apps"] as? [[String: Any]] else {
            throw CtlFailure.runtime(
                "listener at \(endpoint): GET /v1/apps answered \(response.status): \(response.errorText)")
        }
        return (object, apps.map(AppStatus.init))
    }

    /// `POST /v1/apps/{app}/worker/{action}`: `{"app","action","state","pid"}` on success.
    func worker(_ action: String, app: String, token: String) throws -> [String: Any] {
        let response = try endpoint.request("POST", "/v1/apps/\(app)/worker/\(action)", token: token)
        guard response.status == 200, let object = response.object else {
            throw CtlFailure.runtime(
                "listener refused to \(action) the worker of app \(app): \(response.status) \(response.errorText)")
        }
        return object
    }

    static func workerState(_ answer: [String: Any]) -> (state: String, pid: Int?) {
        (answer["state"] as? String ?? "unknown", (answer["pid"] as? NSNumber)?.intValue)
    }

    /// `POST /v1/events`: 202 `{"accepted":N}`; anything else is the listener's refusal with its
    /// `error` and, for arrays, the `index` of the rejected envelope.
    func send(_ body: [UInt8], token: String) throws -> (status: Int, answer: [String: Any]) {
        let response = try endpoint.request("POST", "/v1/events", token: token, json: body)
        let answer = response.object ?? ["error": response.errorText]
        return (response.status, answer)
    }
}
