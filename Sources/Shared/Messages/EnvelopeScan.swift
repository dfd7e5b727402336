import Foundation

/// The fields a body may carry (DESIGN section 4): what `Envelope.validated` reads, and all that
/// `EnvelopeScan` keeps.
public enum BodyKey: String, Sendable, CaseIterable {
    case executor, status, executors, dissenters, address, severity, rule, kind, url, method, list, op, ttl,
        state, reason
    case latencyMs = "latency_ms"
    case requestId = "request_id"

    fileprivate static let names: [(key: BodyKey, bytes: [UInt8])] = allCases.map { ($0, Array($0.rawValue.utf8)) }

    /// Its bit in the set of keys a body named.
    fileprivate var slot: Int {
        switch self {
        case .executor: 0
        case .status: 1
        case .executors: 2
        case .dissenters: 3
        case .address: 4
        case .severity: 5
        case .rule: 6
        case .kind: 7
        case .url: 8
        case .method: 9
        case .list: 10
        case .op: 11
        case .ttl: 12
        case .state: 13
        case .reason: 14
        case .latencyMs: 15
        case .requestId: 16
        }
    }

    /// The key whose name is exactly `raw`, nil for any other.
    fileprivate static func named(_ raw: UnsafeRawBufferPointer) -> BodyKey? {
        for entry in names where raw.holds(entry.bytes) { return entry.key }
        return nil
    }
}

/// A body's known fields, one stored property each: no table, no hashing, no allocation for
/// the fields themselves.
public struct BodyFields: Sendable {
    private var executor, status, executors, dissenters, address, severity, rule, kind, url, method, list, op,
        ttl, state, reason, latencyMs, requestId: JSONValue?

    init() {}

    /// The known fields of a parsed body object (the others are not read by any check).
    init(_ fields: [String: JSONValue]) {
        for key in BodyKey.allCases { self[key] = fields[key.rawValue] }
    }

    subscript(key: BodyKey) -> JSONValue? {
        get {
            switch key {
            case .executor: executor
            case .status: status
            case .executors: executors
            case .dissenters: dissenters
            case .address: address
            case .severity: severity
            case .rule: rule
            case .kind: kind
            case .url: url
            case .method: method
            case .list: list
            case .op: op
            case .ttl: ttl
            case .state: state
            case .reason: reason
            case .latencyMs: latencyMs
            case .requestId: requestId
            }
        }
        set {
            switch key {
            case .executor: executor = newValue
            case .status: status = newValue
            case .executors: executors = newValue
            case .dissenters: dissenters = newValue
            case .address: address = newValue
            case .severity: severity = newValue
            case .rule: rule = newValue
            case .kind: kind = newValue
            case .url: url = newValue
            case .method: method = newValue
            case .list: list = newValue
            case .op: op = newValue
            case .ttl: ttl = newValue
            case .state: state = newValue
            case .reason: reason = newValue
            case .latencyMs: latencyMs = newValue
            case .requestId: requestId = newValue
            }
        }
    }
}

/// An envelope read in one pass over its bytes, straight into typed fields: no `[String:
/// JSONValue]` for the envelope or its body, no string for a key. The listener and the worker
/// read every message this way first (issue 15: building and searching those tables was most of
/// their parsing; BENCHMARKS.md has the before and after).
///
/// It answers only for the plain case: an object of `id`, `source`, `type`, `app`, `time` and
/// `body` (each at most once, `app` a string), a body of known fields only, keys without escapes,
/// values FastJSON reads. For anything else it answers nil and the caller takes the general path
/// (`FastJSON`, `Envelope(json:)`, `JSONDecoder`), which decides and names what is wrong. So for
/// input it answers for, `Envelope.validated(scan)` equals `validated()` of the envelope the
/// general path builds: `EnvelopeScanTests` hold it to that.
public struct EnvelopeScan: Sendable {
    public var id: String
    /// Always set: an envelope without `app` (an alert routed by address) takes the general path,
    /// which writes the routed envelope.
    public var app: String?
    public var source: Source
    public var type: MessageType
    public var time: String?
    public var body: BodyFields

    /// `maxDepth`: as `FastJSON.parse`'s (the envelope is depth 0, its body 1).
    public static func scan(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = FastJSON.maxDepth) -> EnvelopeScan? {
        var parser = FastJSON.Parser(bytes: bytes)
        parser.maxDepth = min(maxDepth, FastJSON.maxDepth)
        guard parser.maxDepth > 2 else { return nil }
        parser.skipWhitespace()
        guard let scan = parser.envelope() else { return nil }
        parser.skipWhitespace()
        return parser.index == bytes.count ? scan : nil
    }

    public static func scan(_ bytes: some Collection<UInt8>, maxDepth: Int = FastJSON.maxDepth) -> EnvelopeScan? {
        if let scanned = bytes.withContiguousStorageIfAvailable({
            scan(UnsafeRawBufferPointer($0), maxDepth: maxDepth)
        }) {
            return scanned
        }
        return Array(bytes).withUnsafeBytes { scan($0, maxDepth: maxDepth) }
    }
}

extension FastJSON.Parser {
    fileprivate enum EnvelopeKey: UInt8 {
        case id = 1
        case app = 2
        case source = 4
        case type = 8
        case time = 16
        case body = 32

        static func named(_ raw: UnsafeRawBufferPointer) -> EnvelopeKey? {
            switch raw.count {
            case 2: return raw.holds("id") ? .id : nil
            case 3: return raw.holds("app") ? .app : nil
            case 4:
                if raw.holds("type") { return .type }
                if raw.holds("time") { return .time }
                if raw.holds("body") { return .body }
                return nil
            case 6: return raw.holds("source") ? .source : nil
            default: return nil
            }
        }
    }

    /// The names of the sources and types, to match a value's bytes without making a string of them.
    private static let sourceNames = Source.allCases.map { ($0, Array($0.rawValue.utf8)) }
    private static let typeNames = MessageType.allCases.map { ($0, Array($0.rawValue.utf8)) }

    /// At a `"`: the case whose name the string is, matched on its bytes when it has no escapes;
    /// a string with escapes is unescaped first, so it names what the general path reads.
    private mutating func word<Word: RawRepresentable<String>>(_ names: [(Word, [UInt8])]) -> Word? {
        if let raw = plainString() {
            for (word, name) in names where raw.holds(name) { return word }
            return nil
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let text = string() else { return nil }
        return Word(rawValue: text)
    }

    fileprivate mutating func envelope() -> EnvelopeScan? {
        var seen: UInt8 = 0
        var id: String?
        var app: String?
        var source: Source?
        var type: MessageType?
        var time: String?
        var body: BodyFields?
        let complete = members { parser, raw in
            guard let key = EnvelopeKey.named(raw), seen & key.rawValue == 0 else { return false }
            seen |= key.rawValue
            switch key {
            case .body:
                body = parser.body()
                return body != nil
            case .time:
                switch parser.value(depth: 1) {
                case .string(let text)?: time = text
                case .null?: time = nil
                default: return false
                }
                return true
            case .source:
                source = parser.word(Self.sourceNames)
                return source != nil
            case .type:
                type = parser.word(Self.typeNames)
                return type != nil
            case .id, .app:
                guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\""),
                    let text = parser.string()
                else { return false }
                if key == .id { id = text } else { app = text }
                return true
            }
        }
        guard complete, let id, let app, let source, let type, let body else { return nil }
        return EnvelopeScan(id: id, app: app, source: source, type: type, time: time, body: body)
    }

    /// At the body's `{`: its known fields, each read as FastJSON reads a value.
    private mutating func body() -> BodyFields? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        var fields = BodyFields()
        var seen: UInt32 = 0
        let complete = members { parser, raw in
            guard let key = BodyKey.named(raw), seen & (1 << key.slot) == 0, let value = parser.value(depth: 2) else {
                return false
            }
            seen |= 1 << key.slot
            fields[key] = value
            return true
        }
        return complete ? fields : nil
    }

    /// At a `{`: reads `"key": value` pairs to the closing `}`, handing each key's raw bytes to
    /// `member`, which reads the value (false: not a case this scan answers for).
    private mutating func members(_ member: (inout Self, UnsafeRawBufferPointer) -> Bool) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return true
        }
        while true {
            skipWhitespace()
            guard let raw = plainString() else { return false }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
            index += 1
            skipWhitespace()
            guard member(&self, raw) else { return false }
            skipWhitespace()
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return true
            } else {
                return false
            }
        }
    }

    /// At a `"`: the bytes of a string of printable ASCII without escapes (a key, a source, a
    /// type), moving past its closing quote.
    private mutating func plainString() -> UnsafeRawBufferPointer? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                index = end + 1
                return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
            end += 1
        }
        return nil
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these are exactly the bytes of `name`.
    fileprivate func holds(_ name: StaticString) -> Bool {
        count == name.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, name.utf8Start, count) == 0)
    }

    fileprivate func holds(_ name: [UInt8]) -> Bool {
        count == name.count
            && (count == 0 || name.withUnsafeBytes { memcmp(baseAddress!, $0.baseAddress!, count) == 0 })
    }
}
