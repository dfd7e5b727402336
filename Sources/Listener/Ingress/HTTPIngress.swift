import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Shared

/// HTTP ingress and status endpoints (DESIGN section 4), on Hummingbird.
enum HTTPIngress {
    /// Upper bound of a request body (an array of envelopes).
    static func maxBodyBytes(_ config: ListenerConfig) -> Int { max(config.maxMessageBytes * 1024, 16 << 20) }

    /// A request (head and body) must arrive within this time, or the connection is closed (slowloris).
    static let requestDeadline: TimeAmount = .seconds(10)
    /// Headers beyond this are refused by the HTTP decoder: a bearer token and a few fields need far less.
    static let maxHeaderBytes = 16 * 1024
    /// Envelopes per request: one request is one journal batch and one reply, so keep it bounded.
    static let maxArrayElements = 10_000
    /// `POST /v1/events` requests read at once, and the body bytes they may hold together: two
    /// bodies of the largest size, or many ordinary ones.
    static let maxConcurrentRequests = 256
    static func bodyBudgetBytes(_ config: ListenerConfig) -> Int { 2 * maxBodyBytes(config) }

    static func makeApplication(
        runtime: ListenerRuntime, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        let budget = RequestBodyBudget(
            maxBytes: bodyBudgetBytes(runtime.config), maxRequests: maxConcurrentRequests)
        router.post("/v1/events") { request, _ -> Response in
            var request = request
            return await events(&request, runtime: runtime, budget: budget)
        }
        router.get("/v1/apps") { _, _ -> Response in
            var apps: [AppStatus] = []
            for name in runtime.appNames {
                if let status = await runtime.appStatus(name) { apps.append(status) }
            }
            return json(200, AppStatusList(apps: apps))
        }
        router.get("/v1/apps/:app") { _, context -> Response in
            let name = context.parameters.get("app") ?? ""
            guard let status = await runtime.appStatus(name) else {
                return json(404, ["error": "app: unknown app '\(name)'"])
            }
            return json(200, status)
        }
        router.post("/v1/apps/:app/worker/:action") { request, context -> Response in
            await workerAction(
                request, app: context.parameters.get("app") ?? "",
                action: context.parameters.get("action") ?? "", runtime: runtime)
        }
        router.get("/healthz") { _, _ -> Response in
            json(200, ["status": "ok", "apps": runtime.appNames.count])
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: await runtime.metricsText())))
        }
        router.get("/v1/situation") { request, _ -> Response in
            let app = request.uri.queryParameters.get("app")
            if let app, !runtime.appNames.contains(app) { return json(404, ["error": "app: unknown app '\(app)'"]) }
            var eventLimit = 100
            if let text = request.uri.queryParameters.get("events") {
                guard let count = Int(text), count >= 0 else {
                    return json(400, ["error": "events: expected a count of events per app (0 or more), got '\(text)'"])
                }
                eventLimit = count
            }
            return json(200, await SituationReport.build(runtime: runtime, only: app, eventLimit: eventLimit))
        }
        router.get("/v1/apps/:app/forensics/:executor") { _, context -> Response in
            let outcome = await ForensicsReport.answer(
                runtime: runtime, app: context.parameters.get("app") ?? "",
                executor: context.parameters.get("executor") ?? "")
            switch outcome {
            case .found(let answer): return json(200, answer)
            case .problem(let status, let error): return json(status, ["error": error])
            }
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
        var quiet = logger
        quiet.logLevel = .warning
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(limit: requestDeadline)],
            idleTimeout: requestDeadline,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes,
                maxHeaderFieldCount: 100))
        return Application(
            router: router,
            server: .http1(configuration: http1),
            configuration: .init(
                address: .hostname(runtime.config.http.host, port: runtime.config.http.port),
                serverName: "mimic-listener"),
            onServerRunning: { channel in
                // A crash reporter (swift-backtrace) of this process must not keep the port bound.
                CloseOnExec.markAll()
                onBound(channel.localAddress?.port ?? runtime.config.http.port)
            },
            logger: quiet)
    }

    static func events(_ request: inout Request, runtime: ListenerRuntime, budget: RequestBodyBudget) async
        -> Response
    {
        let token: Int
        switch runtime.authorizer.identify(Authorizer.bearerToken(request.headers[.authorization])) {
        case .missing:
            runtime.counters.rejected(401)
            return json(401, ["error": "Authorization: Bearer <token> required"])
        case .unknown:
            runtime.counters.rejected(401)
            return json(401, ["error": "unknown token"])
        case .known(let index):
            token = index
        }
        let limit = maxBodyBytes(runtime.config)
        let announced = request.headers[.contentLength].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        // Refuse an announced oversize body before reading a byte of it.
        if let announced, announced > limit {
            runtime.counters.rejected(413)
            return json(
                413, ["error": "request body of \(announced) bytes is larger than \(limit) bytes; split the array"])
        }
        guard budget.enter() else {
            runtime.counters.rejected(503)
            return busy("\(budget.maxRequests) requests are being read")
        }
        defer { budget.leave() }
        // An announced body is taken from the budget whole before a byte is read, so concurrent
        // large senders are refused at once rather than all starved half way; a chunked one as it
        // arrives.
        var held = 0
        defer { budget.give(held) }
        if let announced {
            guard budget.take(announced) else {
                runtime.counters.rejected(503)
                return busy(
                    "request bodies being read hold \(budget.bytesInUse >> 20) MiB of \(budget.maxBytes >> 20) MiB")
            }
            held = announced
        }
        var body: [UInt8] = []
        body.reserveCapacity(min(announced ?? 0, limit))
        do {
            for try await chunk in request.body {
                guard body.count + chunk.readableBytes <= limit else {
                    runtime.counters.rejected(413)
                    return json(413, ["error": "request body larger than \(limit) bytes; split the array"])
                }
                if announced == nil {
                    guard budget.take(chunk.readableBytes) else {
                        runtime.counters.rejected(503)
                        return busy(
                            "request bodies being read hold \(budget.bytesInUse >> 20) MiB of "
                                + "\(budget.maxBytes >> 20) MiB")
                    }
                    held += chunk.readableBytes
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
        } catch {
            runtime.counters.rejected(400)
            return json(400, ["error": "request body could not be read: \(error)"])
        }
        let intake = runtime.intake
        var pieces: [ArraySlice<UInt8>]
        switch JSONArraySplitter.firstSignificantByte(body) {
        case UInt8(ascii: "["):
            guard let ranges = JSONArraySplitter.elements(body) else {
                runtime.counters.rejected(400)
                return json(400, ["error": "malformed JSON array"])
            }
            guard ranges.count <= maxArrayElements else {
                runtime.counters.rejected(413)
                return json(
                    413, ["error": "array of \(ranges.count) envelopes; at most \(maxArrayElements) per request"])
            }
            guard !ranges.isEmpty else {
                runtime.counters.rejected(400)
                return json(400, ["error": "empty array: send at least one envelope"])
            }
            pieces = ranges.map { body[$0] }
        case UInt8(ascii: "{"):
            pieces = [body[...]]
        default:
            runtime.counters.rejected(400)
            return json(400, ["error": "malformed JSON: expected an envelope object or an array of them"])
        }
        var messages: [IntakeMessage] = []
        messages.reserveCapacity(pieces.count)
        for (index, piece) in pieces.enumerated() {
            switch intake.admit(piece, token: token) {
            case .success(let message): messages.append(message)
            case .failure(let rejection):
                runtime.counters.rejected(rejection.status, count: pieces.count)
                var fields: [String: Any] = ["error": rejection.message, "index": index]
                if let id = rejection.id { fields["id"] = id }
                return json(rejection.status, fields)
            }
        }
        switch await runtime.submit(messages) {
        case .success:
            runtime.counters.accepted(messages.count)
            return json(202, ["accepted": messages.count])
        case .failure(let rejection):
            runtime.counters.rejected(rejection.status, count: messages.count)
            return json(rejection.status, ["error": rejection.message])
        }
    }

    /// 503 with Retry-After: the sender keeps its batch and sends it again shortly.
    static func busy(_ why: String) -> Response {
        var response = json(503, ["error": "listener busy: \(why); retry shortly"])
        response.headers[.retryAfter] = "1"
        return response
    }

    static func workerAction(_ request: Request, app: String, action: String, runtime: ListenerRuntime) async
        -> Response
    {
        guard
            case .known(let token) = runtime.authorizer.identify(
                Authorizer.bearerToken(request.headers[.authorization]))
        else {
            return json(401, ["error": "Authorization: Bearer <admin token> required"])
        }
        guard runtime.authorizer.isAdmin(token: token, app: app) else {
            return json(
                403, ["error": "token '\(runtime.authorizer.tokenName(token))' is not an admin token for app '\(app)'"])
        }
        guard let supervisor = runtime.supervisor else {
            return json(409, ["error": "supervise.enabled is false: workers are started outside the listener"])
        }
        guard runtime.channel(for: app) != nil else { return json(404, ["error": "app: unknown app '\(app)'"]) }
        let done: Bool
        switch action {
        case "start": done = await supervisor.start(app: app)
        case "stop": done = await supervisor.stop(app: app)
        case "restart": done = await supervisor.restart(app: app)
        default: return json(404, ["error": "action: expected start, stop or restart"])
        }
        guard done else { return json(404, ["error": "app: '\(app)' is not supervised"]) }
        var result: [String: Any] = ["app": app, "action": action]
        if let status = await supervisor.status(app: app) {
            result["state"] = status.state
            result["pid"] = status.pid.map { Int($0) } ?? NSNull()
        }
        return json(200, result)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ status: Int, _ value: some Encodable) -> Response {
        var buffer = ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data("{}".utf8))
        buffer.writeStaticString("\n")
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: buffer))
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var buffer = ByteBuffer(bytes: data)
        buffer.writeStaticString("\n")
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: buffer))
    }
}
