import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Shared

/// The admin door (DESIGN section 4): the status API, the situational-awareness page, worker
/// control, the audit trail and `/metrics`, on `admin:` of listener.yaml (127.0.0.1:7602 by
/// default), never on the ingress port. Reads are open when the door listens on loopback only;
/// elsewhere they need a token with the `read` scope or the `admin` source (`AdminReadGate`).
enum AdminDoor {
    static func makeApplication(
        runtime: ListenerRuntime, tls: TLSConfiguration?, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void
    ) throws -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AdminReadGate(authorizer: runtime.authorizer, open: runtime.config.admin.isLoopback))
        router.get("/v1/apps") { _, _ -> Response in
            var apps: [AppStatus] = []
            for name in runtime.appNames {
                if let status = await runtime.appStatus(name) { apps.append(status) }
            }
            return JSONResponse.make(200, AppStatusList(apps: apps))
        }
        router.get("/v1/apps/:app") { _, context -> Response in
            let name = context.parameters.get("app") ?? ""
            guard let status = await runtime.appStatus(name) else {
                return JSONResponse.make(404, ["error": "app: unknown app '\(name)'"])
            }
            return JSONResponse.make(200, status)
        }
        router.get("/v1/apps/:app/trends") { _, context -> Response in
            let name = context.parameters.get("app") ?? ""
            guard runtime.channel(for: name) != nil else {
                return JSONResponse.make(404, ["error": "app: unknown app '\(name)'"])
            }
            return JSONResponse.make(
                200,
                AppTrendsAnswer(
                    app: name, intervalSeconds: Double(runtime.trends.interval / .milliseconds(1)) / 1000,
                    points: runtime.trends.points(app: name)))
        }
        router.post("/v1/apps/:app/worker/:action") { request, context -> Response in
            await workerAction(
                request, app: context.parameters.get("app") ?? "",
                action: context.parameters.get("action") ?? "", runtime: runtime)
        }
        router.get("/v1/audit") { request, _ -> Response in
            var limit = 100
            if let text = request.uri.queryParameters.get("limit") {
                guard let count = Int(text), (0...AuditTrail.keptInMemory).contains(count) else {
                    return JSONResponse.make(
                        400, ["error": "limit: expected 0...\(AuditTrail.keptInMemory) entries, got '\(text)'"])
                }
                limit = count
            }
            let app = request.uri.queryParameters.get("app").map { String($0) }
            return JSONResponse.make(200, AuditList(entries: runtime.audit.recent(limit: limit, app: app)))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: await runtime.metricsText())))
        }
        router.get("/healthz") { _, _ -> Response in
            JSONResponse.make(200, ["status": "ok", "apps": runtime.appNames.count])
        }
        router.get("/v1/situation") { request, _ -> Response in
            let app = request.uri.queryParameters.get("app").map { String($0) }
            if let app, !runtime.appNames.contains(app) {
                return JSONResponse.make(404, ["error": "app: unknown app '\(app)'"])
            }
            var eventLimit = 100
            if let text = request.uri.queryParameters.get("events") {
                guard let count = Int(text), count >= 0 else {
                    return JSONResponse.make(
                        400, ["error": "events: expected a count of events per app (0 or more), got '\(text)'"])
                }
                eventLimit = count
            }
            return JSONResponse.make(
                200, await SituationReport.build(runtime: runtime, only: app, eventLimit: eventLimit))
        }
        router.get("/v1/apps/:app/forensics/:executor") { _, context -> Response in
            let outcome = await ForensicsReport.answer(
                runtime: runtime, app: context.parameters.get("app") ?? "",
                executor: context.parameters.get("executor") ?? "")
            switch outcome {
            case .found(let answer): return JSONResponse.make(200, answer)
            case .problem(let status, let error): return JSONResponse.make(status, ["error": error])
            }
        }
        router.get("/v1/apps/:app/executors/:executor/why") { _, context -> Response in
            let outcome = await ExecutorWhyReport.answer(
                runtime: runtime, app: context.parameters.get("app") ?? "",
                executor: context.parameters.get("executor") ?? "")
            switch outcome {
            case .found(let why): return JSONResponse.make(200, why)
            case .problem(let status, let error): return JSONResponse.make(status, ["error": error])
            }
        }
        router.get("/v1/apps/:app/log") { request, context -> Response in
            await workerLog(request, app: context.parameters.get("app") ?? "", runtime: runtime)
        }
        if !SituationPageFiles.isPresent {
            logger.warning(
                "situational-awareness page files are missing; GET / answers 404",
                metadata: [
                    "expected": .string(SituationPageFiles.directory),
                    "fix": "copy the \(SituationPageFiles.bundleName) folder of the build next to mimic-listener",
                ])
        }
        // The page's files are only looked up for requests no route answered (404).
        router.add(
            middleware: FileMiddleware(
                SituationPageFiles.directory, cacheControl: .init([(MediaType(type: .any), [.noCache])]),
                searchForIndexHtml: true, logger: logger))
        return try HTTPDoor.application(
            router: router, bind: runtime.config.admin, tls: tls, name: "mimic-listener-admin", logger: logger,
            onBound: onBound)
    }

    /// `GET /v1/apps/{app}/log?lines=N` (the last lines) or `?after=<end>&file=<file>` (what
    /// followed): the supervised worker's stderr as `WorkerLogFile` keeps it.
    static func workerLog(_ request: Request, app: String, runtime: ListenerRuntime) async -> Response {
        guard runtime.appNames.contains(app) else {
            return JSONResponse.make(404, ["error": "app: unknown app '\(app)'"])
        }
        guard runtime.supervisor != nil else {
            return JSONResponse.make(
                409,
                [
                    "error":
                        "supervise.enabled is false: workers are started outside the listener, which keeps no log of them"
                ])
        }
        let query = request.uri.queryParameters
        let position: WorkerLogReader.Position
        if let text = query.get("after") {
            guard let offset = Int64(text), offset >= 0 else {
                return JSONResponse.make(
                    400, ["error": "after: expected a byte offset (the end of an earlier answer), got '\(text)'"])
            }
            position = .after(offset, file: query.get("file").map { String($0) })
        } else {
            var count = 100
            if let text = query.get("lines") {
                guard let lines = Int(text), (1...WorkerLogPage.maxLines).contains(lines) else {
                    return JSONResponse.make(
                        400, ["error": "lines: expected 1...\(WorkerLogPage.maxLines), got '\(text)'"])
                }
                count = lines
            }
            position = .last(count)
        }
        let path = WorkerLogFile.path(journalDir: runtime.config.journalDir, app: app)
        // File reads on the blocking pool, never on the door's event loop.
        guard
            let page = try? await NIOThreadPool.singleton.runIfActive({
                WorkerLogReader.read(app: app, path: path, at: position)
            })
        else {
            return JSONResponse.make(503, ["error": "the listener is stopping"])
        }
        return JSONResponse.make(200, page)
    }

    static func workerAction(_ request: Request, app: String, action: String, runtime: ListenerRuntime) async
        -> Response
    {
        guard
            case .known(let token) = runtime.authorizer.identify(
                Authorizer.adminDoorToken(request.headers[.authorization]))
        else {
            return JSONResponse.make(401, ["error": "Authorization: Bearer <admin token> required"])
        }
        let name = runtime.authorizer.tokenName(token)
        guard runtime.authorizer.isAdmin(token: token, app: app) else {
            return JSONResponse.make(403, ["error": "token '\(name)' is not an admin token for app '\(app)'"])
        }
        guard let supervisor = runtime.supervisor else {
            return JSONResponse.make(
                409, ["error": "supervise.enabled is false: workers are started outside the listener"])
        }
        guard runtime.channel(for: app) != nil else {
            return JSONResponse.make(404, ["error": "app: unknown app '\(app)'"])
        }
        if let coordinator = runtime.coordinator, await !coordinator.ownedApps.contains(app) {
            let owner = await coordinator.owners()[app]
            return JSONResponse.make(
                409,
                [
                    "error": owner.map {
                        "app '\(app)' is owned by instance '\($0)': send this to that instance's admin door"
                    } ?? "app '\(app)' has no owner right now (its lease is free); retry in a few seconds"
                ])
        }
        let done: Bool
        switch action {
        case "start": done = await supervisor.start(app: app)
        case "stop": done = await supervisor.stop(app: app)
        case "restart": done = await supervisor.restart(app: app)
        default: return JSONResponse.make(404, ["error": "action: expected start, stop or restart"])
        }
        guard done else { return JSONResponse.make(404, ["error": "app: '\(app)' is not supervised"]) }
        var result: [String: Any] = ["app": app, "action": action]
        var outcome = "done"
        if let status = await supervisor.status(app: app) {
            result["state"] = status.state
            result["pid"] = status.pid.map { Int($0) } ?? NSNull()
            outcome = "state \(status.state)" + (status.pid.map { " pid \($0)" } ?? "")
        }
        runtime.audit.record(token: name, app: app, action: "worker_\(action)", detail: outcome)
        return JSONResponse.make(200, result)
    }
}

/// Reads on the admin door: open on a loopback-only door; elsewhere a token with the `read`
/// scope or the `admin` source (Bearer, or Basic with the token as password so a browser can
/// open the page). Worker control checks its admin token itself, whatever the door.
struct AdminReadGate: RouterMiddleware {
    typealias Context = BasicRequestContext
    let authorizer: Authorizer
    let open: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if open || request.method == .post { return try await next(request, context) }
        let token: Int
        switch authorizer.identify(Authorizer.adminDoorToken(request.headers[.authorization])) {
        case .missing, .unknown:
            var response = JSONResponse.make(
                401, ["error": "this admin door is not on loopback: send a token with the read scope"])
            response.headers[.wwwAuthenticate] = "Basic realm=\"mimic admin\", charset=\"UTF-8\""
            return response
        case .known(let index):
            token = index
        }
        if case .forbidden(let reason) = authorizer.decideRead(token: token, app: Self.app(of: request)) {
            return JSONResponse.make(403, ["error": reason])
        }
        return try await next(request, context)
    }

    /// The one app a read names (`/v1/apps/<app>...` or `?app=`); nil for fleet-wide reads.
    static func app(of request: Request) -> String? {
        let parts = request.uri.path.split(separator: "/")
        if parts.count >= 3, parts[0] == "v1", parts[1] == "apps" { return String(parts[2]) }
        if let app = request.uri.queryParameters.get("app") { return String(app) }
        return nil
    }
}
