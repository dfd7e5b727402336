import Foundation
import Shared

/// `GET /v1/situation`: what the situational-awareness page draws. Per app, the listener's own view
/// (worker process, journal backlog, rates) joined with what the worker answers on its socket
/// (`status`, `executors`, `events`); the listener itself never reads Redis.
enum SituationReport {
    static let questions: [SocketOp] = [.status, .executors, .events, .lists]

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
        do throws(WorkerAnswerProblem) {
            let worker = try SocketOp.status.read(WorkerStatus.self, from: lines[0]).get()
            let executors = try SocketOp.executors.read(WorkerExecutors.self, from: lines[1]).get()
            let events = try SocketOp.events.read(WorkerEvents.self, from: lines[2]).get()
            situation.scheduler = worker
            situation.executors = executors.executors
            situation.evidence = executors.evidence ?? [:]
            situation.events = Array(events.events.suffix(max(eventLimit, 0)))
            // The page does without the lists rather than without the whole app.
            if lines.count > 3 { situation.lists = try? SocketOp.lists.read(WorkerLists.self, from: lines[3]).get() }
        } catch {
            situation.schedulerError = "worker of app \(status.app) \(error)"
        }
        return situation
    }
}
