import Foundation
import Shared

/// A message that passed every check and is ready for its app's journal.
struct IntakeMessage: Sendable {
    var app: String
    var id: String
    var source: Source
    var type: MessageType
    var entry: JournalEntry
    /// For `admin` messages: what the audit trail records once the message is accepted.
    var audit: AdminAction? = nil
}

/// An operator's message as the audit trail names it (`set_state`, `list`, ...).
struct AdminAction: Sendable, Equatable {
    var action: String
    var detail: String?

    init?(_ body: MessageBody) {
        switch body {
        case .setState(let request):
            action = "set_state"
            detail = "\(request.executor) -> \(request.state.rawValue)" + (request.reason.map { ": \($0)" } ?? "")
        case .list(let change):
            action = "list"
            detail = "\(change.list.rawValue) \(change.op.rawValue) \(change.url)"
        case .rotate: action = "rotate"
        case .pause: action = "pause"
        case .resume: action = "resume"
        case .health, .arbitration, .alert: return nil
        }
    }
}

/// Why a message was refused, with the HTTP status it maps to (TCP reports the same text).
struct IntakeRejection: Error, Sendable, Equatable {
    var status: Int
    var message: String
    var id: String?
}

/// Turns the raw bytes of one envelope into a journal entry, or a rejection naming the field:
/// size, JSON, envelope validation (DESIGN section 4), token scope, routing.
struct EnvelopeIntake: Sendable {
    var maxMessageBytes: Int
    var authorizer: Authorizer
    var directory: AppDirectory
    /// Endpoints the workers report, for alerts by `ip:port` on an address several apps share.
    var owners: EndpointOwners? = nil
    /// List adds per app and minute from non-admin senders; nil takes no quota (tests of shape).
    var listQuota: ListAddQuota? = nil

    func admit(_ raw: some Collection<UInt8>, token: Int) -> Result<IntakeMessage, IntakeRejection> {
        let bytes = Array(raw)
        guard bytes.count <= maxMessageBytes else {
            return .failure(
                IntakeRejection(
                    status: 413, message: "message is \(bytes.count) bytes; max_message_bytes is \(maxMessageBytes)",
                    id: Self.peekID(bytes)))
        }
        let header: Header
        let body: MessageBody
        // Set on the general path only: an envelope routed by address is written anew from it.
        var general: Envelope?
        if let scanned = EnvelopeScan.scan(bytes, maxDepth: JSONShapeCheck.maxDepth) {
            // The plain case, read without tables (issue 15); the checks are the same.
            header = Header(id: scanned.id, app: scanned.app, source: scanned.source, type: scanned.type)
            do {
                body = try Envelope.validated(scanned)
            } catch {
                return .failure(IntakeRejection(status: 400, message: error.message, id: scanned.id))
            }
        } else {
            let envelope: Envelope
            if let fast = FastJSON.parse(bytes, maxDepth: JSONShapeCheck.maxDepth).flatMap(Envelope.init(json:)) {
                // Well-formed envelopes skip Codable (most of the listener's CPU, see BENCHMARKS.md),
                // and the shape check: FastJSON refuses duplicate keys, invalid UTF-8 and nesting past
                // the same depth, so what it parses passes the check by construction.
                envelope = fast
            } else {
                if let problem = JSONShapeCheck.problem(bytes) {
                    return .failure(IntakeRejection(status: 400, message: problem, id: nil))
                }
                // The slow path decides, and names the problem, whenever the fast path declines.
                do {
                    envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes))
                } catch let error as DecodingError {
                    return .failure(IntakeRejection(status: 400, message: Self.describe(error), id: Self.peekID(bytes)))
                } catch {
                    return .failure(IntakeRejection(status: 400, message: "malformed JSON", id: Self.peekID(bytes)))
                }
            }
            do {
                body = try envelope.validated()
            } catch {
                return .failure(IntakeRejection(status: 400, message: error.message, id: envelope.id))
            }
            header = Header(id: envelope.id, app: envelope.app, source: envelope.source, type: envelope.type)
            general = envelope
        }
        let app: String
        if let named = header.app {
            app = named
        } else if case .alert(let alert) = body, let address = alert.address {
            switch directory.route(address: address, owners: owners) {
            case .app(let found): app = found
            case .none:
                return .failure(
                    IntakeRejection(
                        status: 404, message: "body.address: no app has a host at '\(address)'; set app",
                        id: header.id))
            case .ambiguous(let apps):
                return .failure(
                    IntakeRejection(
                        status: 400,
                        message:
                            "body.address: '\(address)' is a host of several apps (\(apps.joined(separator: ", "))) and "
                            + "no worker reports that endpoint; send ip:port of a live executor, or set app",
                        id: header.id))
            }
        } else {
            return .failure(IntakeRejection(status: 400, message: "app: required", id: header.id))
        }
        if case .forbidden(let reason) = authorizer.decideSource(token: token, source: header.source.rawValue) {
            return .failure(IntakeRejection(status: 403, message: reason, id: header.id))
        }
        guard directory.contains(app) else {
            return .failure(
                IntakeRejection(
                    status: 404, message: "app: unknown app '\(app)'; add apps.d/\(app).yaml and send SIGHUP",
                    id: header.id))
        }
        if case .forbidden(let reason) = authorizer.decide(token: token, source: header.source.rawValue, app: app) {
            return .failure(IntakeRejection(status: 403, message: reason, id: header.id))
        }
        if case .list(let change) = body, change.op == .add, header.source != .admin, let listQuota,
            !listQuota.take(app: app)
        {
            return .failure(IntakeRejection(status: 429, message: listQuota.refusal, id: header.id))
        }
        let line: [UInt8]
        if header.app == nil, var routed = general {
            routed.app = app
            line = (try? JSONEncoder().encode(routed)).map { Array($0) } ?? bytes
        } else {
            // JSON strings cannot hold raw CR/LF, so outside them they are whitespace: one line, same meaning.
            line =
                bytes.contains(where: { $0 == 0x0A || $0 == 0x0D })
                ? bytes.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 } : bytes
        }
        let key = JournalRecord.key(source: header.source.rawValue, id: header.id)
        return .success(
            IntakeMessage(
                app: app, id: header.id, source: header.source, type: header.type,
                entry: JournalEntry(key: key, envelope: line),
                audit: header.source == .admin ? AdminAction(body) : nil))
    }

    /// What the checks after validation read of an envelope, from either path.
    private struct Header {
        var id: String
        var app: String?
        var source: Source
        var type: MessageType
    }

    private struct IDOnly: Decodable { var id: String? }

    /// The id of a message that failed later checks, when it can be read at all.
    static func peekID(_ bytes: [UInt8]) -> String? {
        guard bytes.count <= 1 << 20 else { return nil }
        return (try? JSONDecoder().decode(IDOnly.self, from: Data(bytes)))?.id
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required"
        case .valueNotFound(_, let context):
            return "\(path(context.codingPath)): must not be null"
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return "expected a JSON object (one envelope)" }
            return "\(path(context.codingPath)): expected \(type == String.self ? "a string" : "\(type)")"
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if field == "source" {
                return "source: unknown; expected one of \(Source.allCases.map(\.rawValue).joined(separator: ", "))"
            }
            if field == "type" {
                return "type: unknown; expected one of \(MessageType.allCases.map(\.rawValue).joined(separator: ", "))"
            }
            if field.isEmpty { return "malformed JSON" }
            return "\(field): invalid value"
        @unknown default:
            return "malformed JSON"
        }
    }
}
