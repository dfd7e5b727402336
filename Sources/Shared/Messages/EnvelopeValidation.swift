/// Why an envelope was refused; the text is what the sender sees in `{"error": ...}`.
public struct EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Envelope {
    public static let maxIdLength = 128

    /// Checks the envelope against DESIGN section 4 and returns its typed body.
    /// `app` may be missing only for waf/firewall alerts routed by address; the listener fills it in.
    public func validated() throws(EnvelopeError) -> MessageBody {
        try Self.checkHeader(id: id, app: app)
        guard case .object(let fields) = body else {
            throw EnvelopeError("body: expected an object")
        }
        return try Self.checkBody(source: source, type: type, app: app, fields: BodyFields(fields))
    }

    /// The same checks for an envelope `EnvelopeScan` read field by field (no tables): the same
    /// answer as `validated()` on the envelope `FastJSON` and `init(json:)` would build from it.
    public static func validated(_ scanned: EnvelopeScan) throws(EnvelopeError) -> MessageBody {
        try checkHeader(id: scanned.id, app: scanned.app)
        return try checkBody(source: scanned.source, type: scanned.type, app: scanned.app, fields: scanned.body)
    }

    private static func checkHeader(id: String, app: String?) throws(EnvelopeError) {
        guard !id.isEmpty, id.utf8.count <= Self.maxIdLength else {
            throw EnvelopeError("id: must be 1..\(Self.maxIdLength) characters")
        }
        if let app, !AppName.isValid(app) {
            throw EnvelopeError("app: '\(app)' is not a valid app name ([a-z0-9-]{1,32})")
        }
    }

    private static func checkBody(source: Source, type: MessageType, app: String?, fields: BodyFields)
        throws(EnvelopeError) -> MessageBody
    {
        let body = try typedBody(source: source, type: type, fields: fields)
        if app == nil {
            guard case .alert(let alert) = body, alert.address != nil else {
                throw EnvelopeError("app: required (only waf/firewall alerts with body.address may omit it)")
            }
        }
        return body
    }

    private static func typedBody(source: Source, type: MessageType, fields: BodyFields) throws(EnvelopeError)
        -> MessageBody
    {
        let reader = BodyReader(fields: fields)
        switch (source, type) {
        case (.leftBracket, .health):
            let status = try reader.string(.status)
            guard let parsed = HealthReport.Status(rawValue: status) else {
                throw EnvelopeError("body.status: expected up, down or degraded, got '\(status)'")
            }
            let latency = try reader.optionalNumber(.latencyMs)
            if let latency, !(0...MessageBounds.maxLatencyMs).contains(latency) {
                throw EnvelopeError(
                    "body.latency_ms: expected 0 to \(Int(MessageBounds.maxLatencyMs)) (one day), got \(latency)")
            }
            return .health(HealthReport(executor: try reader.string(.executor), status: parsed, latencyMs: latency))
        case (.rightBracket, .arbitration):
            // An executor named twice is one executor: counting it twice would let one dissent
            // weigh double, in confidence and in the abnormal window.
            let executors = Self.unique(try reader.stringArray(.executors))
            let dissenters = Self.unique(try reader.stringArray(.dissenters))
            guard executors.count <= MessageBounds.maxArbitrationExecutors else {
                throw EnvelopeError(
                    "body.executors: at most \(MessageBounds.maxArbitrationExecutors) executors, got \(executors.count)"
                )
            }
            for dissenter in dissenters where !executors.contains(dissenter) {
                throw EnvelopeError("body.dissenters: '\(dissenter)' is not in body.executors")
            }
            return .arbitration(
                Arbitration(
                    requestId: try reader.optionalString(.requestId),
                    url: try reader.optionalString(.url),
                    method: try reader.optionalString(.method),
                    executors: executors, dissenters: dissenters))
        case (.waf, .alert), (.firewall, .alert):
            let executor = try reader.optionalString(.executor)
            let address = try reader.optionalString(.address)
            guard (executor == nil) != (address == nil) else {
                throw EnvelopeError("body: exactly one of executor and address is required")
            }
            let severityText = try reader.string(.severity)
            guard let severity = Severity(rawValue: severityText) else {
                throw EnvelopeError("body.severity: expected critical, high, medium or low, got '\(severityText)'")
            }
            return .alert(
                Alert(
                    executor: executor, address: address, severity: severity,
                    rule: try reader.optionalString(.rule), kind: try reader.optionalString(.kind),
                    url: try reader.optionalString(.url)))
        case (.waf, .list), (.admin, .list):
            let listText = try reader.string(.list)
            guard let list = ListChange.List(rawValue: listText) else {
                throw EnvelopeError("body.list: expected blacklist or whitelist, got '\(listText)'")
            }
            let opText = try reader.string(.op)
            guard let op = ListChange.Op(rawValue: opText) else {
                throw EnvelopeError("body.op: expected add or remove, got '\(opText)'")
            }
            var ttl: Duration?
            if let ttlText = try reader.optionalString(.ttl) {
                guard let parsed = DurationText.parse(ttlText) else {
                    throw EnvelopeError("body.ttl: expected a duration like 30s, 10m or 1h, got '\(ttlText)'")
                }
                guard parsed <= MessageBounds.maxListTTL else {
                    throw EnvelopeError(
                        "body.ttl: at most \(DurationText.format(MessageBounds.maxListTTL)) (0 = permanent), got '\(ttlText)'"
                    )
                }
                ttl = parsed
            }
            let url = try reader.string(.url)
            guard !url.isEmpty else { throw EnvelopeError("body.url: must not be empty") }
            return .list(ListChange(list: list, op: op, url: url, ttl: ttl))
        case (.admin, .setState):
            let stateText = try reader.string(.state)
            guard let state = SetStateRequest.Target(rawValue: stateText) else {
                throw EnvelopeError("body.state: expected online, offline, standby or cleaning, got '\(stateText)'")
            }
            return .setState(
                SetStateRequest(
                    executor: try reader.string(.executor), state: state,
                    reason: try reader.optionalString(.reason)))
        case (.admin, .rotate): return .rotate
        case (.admin, .pause): return .pause
        case (.admin, .resume): return .resume
        default:
            throw EnvelopeError("type: '\(type.rawValue)' is not accepted from source '\(source.rawValue)'")
        }
    }
}

extension Envelope {
    /// In first-seen order.
    fileprivate static func unique(_ names: [String]) -> [String] {
        // A bracket names a handful of executors, each once: comparing them pairwise beats
        // hashing them into a set (a fifth of validating an arbitration).
        if names.count <= 16 {
            var repeated = false
            for index in names.indices.dropFirst() where names[..<index].contains(names[index]) {
                repeated = true
                break
            }
            if !repeated { return names }
        }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }
}

/// Reads typed fields out of a body, naming the field in every error.
private struct BodyReader {
    let fields: BodyFields

    func string(_ key: BodyKey) throws(EnvelopeError) -> String {
        guard let value = fields[key] else { throw EnvelopeError("body.\(key.rawValue): required") }
        guard case .string(let text) = value else { throw EnvelopeError("body.\(key.rawValue): expected a string") }
        guard !text.isEmpty else { throw EnvelopeError("body.\(key.rawValue): must not be empty") }
        return text
    }

    func optionalString(_ key: BodyKey) throws(EnvelopeError) -> String? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .string(let text) = value else { throw EnvelopeError("body.\(key.rawValue): expected a string") }
        return text
    }

    func optionalNumber(_ key: BodyKey) throws(EnvelopeError) -> Double? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .number(let number) = value else { throw EnvelopeError("body.\(key.rawValue): expected a number") }
        return number
    }

    func stringArray(_ key: BodyKey) throws(EnvelopeError) -> [String] {
        guard let value = fields[key] else { throw EnvelopeError("body.\(key.rawValue): required") }
        guard case .array(let items) = value else {
            throw EnvelopeError("body.\(key.rawValue): expected an array of strings")
        }
        var result: [String] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item else {
                throw EnvelopeError("body.\(key.rawValue): expected an array of strings")
            }
            result.append(text)
        }
        return result
    }
}

public enum AppName {
    /// `[a-z0-9-]{1,32}`
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 32
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

public enum ExecutorID {
    /// `[a-z0-9-]{1,48}`, the ids the worker hands out and hooks receive as arguments.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 48
            && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}
