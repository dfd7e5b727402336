import Foundation
import Shared

/// The listener's HTTP API as mimicctl uses it (DESIGN section 4, docs/listener.md); `/v1/apps` is
/// read with its one codec (`AppStatus`, Sources/Shared/Wire).
struct ListenerAPI {
    var endpoint: HTTPEndpoint

    /// `GET /v1/apps`: the raw answer (for `--json`) and the decoded apps.
    func apps(token: String? = nil) throws -> (raw: [String: Any], apps: [AppStatus]) {
        let response = try endpoint.request("GET", "/v1/apps", token: token)
        guard response.status == 200, let object = response.object,
            let list = try? JSONDecoder().decode(AppStatusList.self, from: Data(response.body))
        else {
            throw CtlFailure.runtime(
                "listener at \(endpoint): GET /v1/apps answered \(response.status): \(response.errorText)")
        }
        return (object, list.apps)
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

    /// `GET /v1/apps/{app}/executors/{id}/why` (issue 18 item 5): the raw answer for `--json` and
    /// the decoded one.
    func why(app: String, executor: String, token: String?) throws -> ExecutorWhy {
        let response = try endpoint.request("GET", "/v1/apps/\(app)/executors/\(executor)/why", token: token)
        guard response.status == 200 else {
            let failure = "listener at \(endpoint): why \(app) \(executor): \(response.status) \(response.errorText)"
            throw response.status == 404 ? CtlFailure.usage(failure) : CtlFailure.runtime(failure)
        }
        do {
            return try JSONDecoder().decode(ExecutorWhy.self, from: Data(response.body))
        } catch {
            throw CtlFailure.runtime("listener at \(endpoint): why \(app) \(executor) is not an answer: \(error)")
        }
    }

    /// `GET /v1/apps/{app}/log` (issue 18 item 4): the last `lines`, or what followed `after`.
    func log(app: String, lines: Int, after: (end: Int64, file: String)?, token: String?) throws -> WorkerLogPage {
        let query =
            after.map {
                "after=\($0.end)&file=\($0.file.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            }
            ?? "lines=\(lines)"
        let response = try endpoint.request("GET", "/v1/apps/\(app)/log?\(query)", token: token)
        guard response.status == 200 else {
            let failure = "listener at \(endpoint): log of app \(app): \(response.status) \(response.errorText)"
            throw response.status == 404 ? CtlFailure.usage(failure) : CtlFailure.runtime(failure)
        }
        do {
            return try JSONDecoder().decode(WorkerLogPage.self, from: Data(response.body))
        } catch {
            throw CtlFailure.runtime("listener at \(endpoint): log of app \(app) is not an answer: \(error)")
        }
    }
}
