import Foundation
import Shared

/// `GET /v1/apps/{app}/forensics/{executor}`: the manifest of an executor's newest forensics capture
/// and its filesystem changes, what the page's evidence mark links to (issue 19 item 5). The worker
/// says where the manifest is (its `executors` answer); the listener reads it from disk, as it runs
/// on the workers' machine (their sockets are Unix sockets). Logs and exports are not served: they
/// may hold the app's secrets, and `mimicctl forensics` on the machine shows where they are.
enum ForensicsReport {
    struct Answer: Sendable, Codable {
        var manifestPath: String
        var manifest: ForensicsManifest
        /// The first `changeLimit` entries of `changes.json`; nil when the capture has none.
        var changes: [FilesystemChange]?
        var changesTotal: Int

        enum CodingKeys: String, CodingKey {
            case manifest, changes
            case manifestPath = "manifest_path"
            case changesTotal = "changes_total"
        }
    }

    static let changeLimit = 1000

    enum Outcome {
        case found(Answer)
        case problem(status: Int, error: String)
    }

    static func answer(runtime: ListenerRuntime, app: String, executor: String) async -> Outcome {
        guard runtime.appNames.contains(app) else { return .problem(status: 404, error: "app: unknown app '\(app)'") }
        guard ExecutorID.isValid(executor) else {
            return .problem(status: 400, error: "executor: '\(executor)' is not an executor id ([a-z0-9-]{1,48})")
        }
        let socketPath = runtime.config.runDir + "/" + app + ".sock"
        let lines: [String]
        switch await WorkerSocketQuery.ask(socketPath: socketPath, ops: [.executors]) {
        case .failure(let failure):
            return .problem(status: 503, error: "worker of app \(app): \(failure.description)")
        case .success(let answered):
            lines = answered
        }
        let executors: WorkerExecutors
        do throws(WorkerAnswerProblem) {
            executors = try SocketOp.executors.read(WorkerExecutors.self, from: lines[0]).get()
        } catch {
            return .problem(status: 502, error: "worker of app \(app) \(error)")
        }
        guard let path = executors.evidence?[executor] else {
            return .problem(status: 404, error: "app \(app): no evidence of executor \(executor)")
        }
        let manifest: ForensicsManifest
        do {
            manifest = try ForensicsManifest.decode(Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            return .problem(status: 500, error: "app \(app): cannot read the manifest \(path): \(error)")
        }
        let changesPath = (path as NSString).deletingLastPathComponent + "/changes.json"
        let changes = (try? Data(contentsOf: URL(fileURLWithPath: changesPath))).flatMap {
            try? FilesystemChange.decodeList($0)
        }
        return .found(
            Answer(
                manifestPath: path, manifest: manifest, changes: changes.map { Array($0.prefix(changeLimit)) },
                changesTotal: changes?.count ?? 0))
    }
}
