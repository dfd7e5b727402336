import Foundation
import Shared

/// `GET /v1/situation`: what the situational-awareness page draws. Per app, the listener's own view
/// (worker process, journal backlog, rates) joined with what the worker answers on its socket
/// (`status`, `executors`, `events`); the listener itself never reads Redis.
enum SituationReport {
    static let questions: [SocketOp] = [.status, .executors, .events]

    /// `eventLimit`: the newest events kept per app (the page asks for what its timeline shows; 50
    /// apps × 100 events every second would be a megabyte a poll).
    static func build(runtime: ListenerRuntime, only app: String? = nil, eventLimit: Int = 100) async -> Situation {
        let names = runtime.appNames.filter { app == nil || $0 == app }
        // Workers are asked in parallel: one stopped worker costs the page one timeout, not one per app.
        let answers = await withTaskGroup(of: WorkerAnswer.self) { group in
            for name in names {
                let socketPath = runtime.config.runDir + "/" + name + ".sock"
                group.addTask {
                    WorkerAnswer(app: name, lines: await WorkerSocketQuery.ask(socketPath: socketPath, ops: questions))
                }
            }
            var answers: [String: Result<[String], WorkerSocketQuery.Failure>] = [:]
            for await answer in group { answers[answer.app] = answer.lines }
            return answers
        }
        var apps: [AppSituation] = []
        for name in names {
            guard let status = await runtime.appStatus(name), let answer = answers[name] else { continue }
            apps.append(situation(status, answer: answer, eventLimit: eventLimit))
        }
        return Situation(time: Int64(Date().timeIntervalSince1970 * 1000), apps: apps)
    }

    private struct WorkerAnswer: Sendable {
        var app: String
        var lines: Result<[String], WorkerSocketQuery.Failure>
    }

    private static func situation(
        _ status: AppStatus, answer: Result<[String], WorkerSocketQuery.Failure>,
        eventLimit: Int
    ) -> AppSituation {
        var situation = AppSituation(status: status)
        let lines: [String]
        switch answer {
        case .failure(let failure):
            situation.schedulerError = failure.description
            return situation
        case .success(let answered):
            lines = answered
        }
        do {
            let worker = try decode(WorkerStatus.self, lines[0], question: .status, app: status.app)
            let executors = try decode(WorkerExecutors.self, lines[1], question: .executors, app: status.app)
            let events = try decode(WorkerEvents.self, lines[2], question: .events, app: status.app)
            situation.scheduler = worker
            situation.executors = executors.executors
            situation.events = Array(events.events.suffix(max(eventLimit, 0)))
        } catch {
            situation.schedulerError = error.description
        }
        return situation
    }

    private struct Unreadable: Error {
        var description: String
    }

    private static func decode<Answer: Decodable>(
        _ type: Answer.Type, _ line: String, question: SocketOp,
        app: String
    ) throws(Unreadable) -> Answer {
        let data = Data(line.utf8)
        if let refusal = try? JSONDecoder().decode(WorkerRefusal.self, from: data) {
            throw Unreadable(description: "worker of app \(app) refused \(question.rawValue): \(refusal.error)")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw Unreadable(
                description: "worker of app \(app) answered \(question.rawValue) with something that is "
                    + "not its answer (\(error)): \(line.prefix(120))")
        }
    }
}
