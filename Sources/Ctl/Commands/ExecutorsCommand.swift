import ArgumentParser
import Foundation
import Shared

/// `mimicctl executors <app>`: the app's executors grouped by state. The worker's own view comes
/// first (it includes anomalies not acted on yet); when the worker is down, the same table is read
/// from the app's Redis DB (DESIGN section 6), which is what the worker will resume from.
struct ExecutorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executors",
        abstract: "Show one app's executors by state: host, variant, endpoint, confidence, time in state.",
        discussion:
            "From the worker's socket; from the app's Redis DB (found via apps_dir) when the worker does not answer.")

    @Argument(help: "The app.")
    var app: String

    @OptionGroup var config: ConfigOption
    @OptionGroup var local: RunDirOption
    @OptionGroup var apps: AppsDirOption
    @OptionGroup var format: FormatOption

    func validate() throws {
        guard AppName.isValid(app) else { throw ValidationError("'\(app)' is not a valid app name ([a-z0-9-]{1,32})") }
    }

    func run() async throws {
        let (rows, source) = try await load()
        // Lifecycle order of DESIGN section 1, then id.
        let order = Dictionary(uniqueKeysWithValues: ExecutorState.allCases.enumerated().map { ($1, $0) })
        let ordered = rows.sorted { (a: Executor, b: Executor) -> Bool in
            a.state != b.state ? order[a.state]! < order[b.state]! : a.id < b.id
        }
        if format.json {
            let executors = Output.jsonObject(ordered) ?? [Any]()
            return try Output.printJSON(["app": app, "source": source, "executors": executors] as [String: Any])
        }
        var counts: [ExecutorState: Int] = [:]
        for row in rows { counts[row.state, default: 0] += 1 }
        let summary = ExecutorState.allCases.compactMap { (state: ExecutorState) -> String? in
            counts[state].map { "\(state.rawValue) \($0)" }
        }.joined(separator: ", ")
        let plural = rows.count == 1 ? "" : "s"
        print("\(app): \(rows.count) executor\(plural) from \(source)" + (summary.isEmpty ? "" : " (\(summary))"))
        guard !rows.isEmpty else { return }
        let header = ["STATE", "ID", "VARIANT", "HOST", "ENDPOINT", "CONFIDENCE", "DISSENTS", "IN STATE", "REASON"]
        print(Output.table(header, ordered.map(Self.cells)))
    }

    private static func cells(_ row: Executor) -> [String] {
        let endpoint: String = row.endpoint.isEmpty ? "-" : row.endpoint
        let confidence = String(format: "%.2f", row.confidence)
        let age: String = row.since > 0 ? Output.age(sinceMilliseconds: row.since) : "-"
        let reason: String = row.flagged ? "FLAGGED " + row.reason : row.reason
        return [
            row.state.rawValue, row.id, row.variant, row.host, endpoint, confidence, String(row.dissents), age, reason,
        ]
    }

    private func load() async throws -> (rows: [Executor], source: String) {
        var workerProblem: String
        do {
            let path = try local.resolveRunDir(config) + "/\(app).sock"
            do throws(WorkerSocketAPI.Failure) {
                return (try WorkerSocketAPI.ask(path, .executors, as: WorkerExecutors.self).executors, "the worker")
            } catch {
                workerProblem = "worker socket \(path): \(error)"
            }
        } catch let failure as CtlFailure {
            // No run_dir known: Redis alone can still answer.
            workerProblem = failure.message
        }
        let appConfig = try apps.loadApp(app, config)
        let redis = appConfig.redis
        do {
            let rows = try await RedisExecutors.load(appConfig)
            FileHandle.standardError.write(Data("mimicctl: \(workerProblem); showing Redis\n".utf8))
            return (rows, "Redis \(redis.host):\(redis.port) db \(redis.db)")
        } catch {
            throw CtlFailure.runtime("app \(app): \(workerProblem), and Redis could not be read either: \(error)")
        }
    }
}

/// The executor table as the worker stores it in Redis (DESIGN section 6).
enum RedisExecutors {
    static func load(_ app: AppConfig) async throws -> [Executor] {
        let client = RedisClient(settings: app.redis)
        do {
            let rows = try await read(client, keys: RedisKeys(app: app.app))
            await client.close()
            return rows
        } catch {
            await client.close()
            throw error
        }
    }

    /// Members of the state sets with their hashes; an id whose hash is missing or unreadable is
    /// named on stderr (the worker repairs such sets when it loads).
    private static func read(_ client: RedisClient, keys: RedisKeys) async throws -> [Executor] {
        var ids: [String] = []
        for reply in try await client.pipeline(ExecutorState.allCases.map { ["SMEMBERS", keys.state($0)] }) {
            if let message = reply.errorMessage { throw RedisError.server(message: message) }
            ids += reply.strings ?? []
        }
        let hashes = try await client.pipeline(ids.map { ["HGETALL", keys.executor($0)] })
        return zip(ids, hashes).compactMap { (id: String, reply: RedisReply) -> Executor? in
            guard let executor = Executor(hash: reply.dictionary ?? [:]) else {
                FileHandle.standardError.write(
                    Data(
                        "mimicctl: executor \(id) is in a state set but its hash \(keys.executor(id)) is missing or unreadable\n"
                            .utf8))
                return nil
            }
            return executor
        }
    }
}
