import Foundation
import NIOCore
import Shared

/// `GET /v1/apps/{app}/executors/{id}/why` (issue 18 item 5): the worker's answer to
/// `{"op":"why","executor":…}`, passed on typed, so mimicctl and the page read one codec whether
/// they ask the door or the socket.
enum ExecutorWhyReport {
    enum Outcome {
        case found(ExecutorWhy)
        case problem(status: Int, error: String)
    }

    /// The worker reads Redis for it (the stream, newest first, in pages): more than a status line.
    static let timeout = TimeAmount.seconds(5)

    static func answer(runtime: ListenerRuntime, app: String, executor: String) async -> Outcome {
        guard runtime.appNames.contains(app) else { return .problem(status: 404, error: "app: unknown app '\(app)'") }
        guard ExecutorID.isValid(executor) else {
            return .problem(status: 400, error: "executor: '\(executor)' is not an executor id ([a-z0-9-]{1,48})")
        }
        let socketPath = runtime.config.runDir + "/" + app + ".sock"
        let line: String
        switch await WorkerSocketQuery.ask(
            socketPath: socketPath, lines: [WhyQuestion(executor: executor).line], timeout: timeout)
        {
        case .failure(let failure):
            return .problem(status: 503, error: "worker of app \(app): \(failure.description)")
        case .success(let answered):
            line = answered[0]
        }
        switch SocketOp.why.read(ExecutorWhy.self, from: line) {
        case .success(let why): return .found(why)
        case .failure(.refused(_, let reason)) where reason.contains("no executor"):
            return .problem(status: 404, error: reason)
        case .failure(let problem):
            return .problem(status: 502, error: "worker of app \(app) \(problem)")
        }
    }
}
