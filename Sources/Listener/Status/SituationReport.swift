import Foundation

/// `GET /v1/situation`: what the situational-awareness page draws. Per app, the listener's own view
/// (worker process, journal backlog, rates) joined with what the worker answers on its socket
/// (`status`, `executors`, `events`); the listener itself never reads Redis.
enum SituationReport {
    static let questions = ["status", "executors", "events"]

    /// `eventLimit`: the newest events kept per app (the page asks for what its timeline shows; 50
    /// apps × 100 events every second would be a megabyte a poll).
    static func build(runtime: ListenerRuntime, only app: String? = nil, eventLimit: Int = 100) async -> [String: Any] {
        let names = runtime.appNames.filter { app == nil || $0 == app }
        // Workers are asked in parallel: one stopped worker costs the page one timeout, not one per app.
        let answers = await withTaskGroup(of: (String, Result<[String], WorkerSocketQuery.Failure>).self) { group in
            for name in names {
                let socketPath = runtime.config.runDir + "/" + name + ".sock"
                group.addTask {
                    do throws(WorkerSocketQuery.Failure) {
                        return (name, .success(try await WorkerSocketQuery.ask(socketPath: socketPath, ops: questions)))
                    } catch {
                        return (name, .failure(error))
                    }
                }
            }
            var answers: [String: Result<[String], WorkerSocketQuery.Failure>] = [:]
            for await (name, answer) in group { answers[name] = answer }
            return answers
        }
        var apps: [[String: Any]] = []
        for name in names {
            guard var situation = await runtime.appStatus(name), let answer = answers[name] else { continue }
            merge(answer, app: name, eventLimit: eventLimit, into: &situation)
            apps.append(situation)
        }
        return ["time": Int64(Date().timeIntervalSince1970 * 1000), "apps": apps]
    }

    private static func merge(_ answer: Result<[String], WorkerSocketQuery.Failure>, app: String, eventLimit: Int,
                              into situation: inout [String: Any]) {
        situation["scheduler"] = NSNull()
        situation["executors"] = [Any]()
        situation["events"] = [Any]()
        let lines: [String]
        switch answer {
        case .failure(let failure):
            situation["scheduler_error"] = failure.description
            return
        case .success(let answered):
            lines = answered
        }
        var objects: [[String: Any]] = []
        for (question, line) in zip(questions, lines) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                situation["scheduler_error"] = "worker of app \(app) answered \(question) with something that is not a JSON object: \(line.prefix(120))"
                return
            }
            if let refused = object["error"] as? String {
                situation["scheduler_error"] = "worker of app \(app) refused \(question): \(refused)"
                return
            }
            objects.append(object)
        }
        situation["scheduler"] = objects[0]
        situation["executors"] = objects[1]["executors"] ?? [Any]()
        situation["events"] = Array(((objects[2]["events"] as? [Any]) ?? []).suffix(max(eventLimit, 0)))
    }
}
