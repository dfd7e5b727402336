import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import Shared

/// The HTTP ingress door (DESIGN section 4), on Hummingbird: `POST /v1/events` and `GET /healthz`
/// only. Everything that shows or changes the fleet is on the admin door (`AdminDoor`), so the
/// port every bracket and WAF reaches reveals nothing about executors.
enum HTTPIngress {
    /// Upper bound of a request body (an array of envelopes).
    static func maxBodyBytes(_ config: ListenerConfig) -> Int { max(config.maxMessageBytes * 1024, 16 << 20) }

    /// Envelopes per request: one request is one journal batch and one reply, so keep it bounded.
    static let maxArrayElements = 10_000
    /// `POST /v1/events` requests read at once, and the body bytes they may hold together: two
    /// bodies of the largest size, or many ordinary ones.
    static let maxConcurrentRequests = 256
    static func bodyBudgetBytes(_ config: ListenerConfig) -> Int { 2 * maxBodyBytes(config) }

    static func makeApplication(
        runtime: ListenerRuntime, tls: TLSConfiguration?, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void
    ) throws -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        let budget = RequestBodyBudget(
            maxBytes: bodyBudgetBytes(runtime.config), maxRequests: maxConcurrentRequests)
        router.post("/v1/events") { request, _ -> Response in
            var request = request
            return await events(&request, runtime: runtime, budget: budget)
        }
        router.get("/healthz") { _, _ -> Response in
            json(200, ["status": "ok", "apps": runtime.appNames.count])
        }
        return try HTTPDoor.application(
            router: router, bind: runtime.config.http, tls: tls, name: "mimic-listener", logger: logger,
            onBound: onBound)
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
            runtime.counters.accepted(messages)
            runtime.auditAccepted(messages, token: token)
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

    static func json(_ status: Int, _ value: some Encodable) -> Response { JSONResponse.make(status, value) }

    static func json(_ status: Int, _ object: [String: Any]) -> Response { JSONResponse.make(status, object) }
}
