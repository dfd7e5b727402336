/// A strict single-pass JSON parser into `JSONValue` for the per-message hot paths (the listener's
/// intake and the worker's frame parsing). Profiles of both processes showed ~70-80% of their CPU
/// in Foundation's Codable `JSONDecoder` decoding the envelope (see BENCHMARKS.md); this parser
/// builds the same values directly from the bytes.
///
/// It only ever answers for input it fully understands: anything unusual (invalid JSON, invalid
/// UTF-8, duplicate keys, non-finite numbers, very deep nesting) returns nil, and callers fall back
/// to the `JSONDecoder` path, which produces the exact error messages senders see. So the fast
/// path can make valid messages cheaper but cannot change what is accepted or how it is refused.
public enum FastJSON {
    public static let maxDepth = 64

    /// `integerLiteralsOnly`: refuse numbers written with a fraction or an exponent, for callers
    /// whose Codable counterpart decodes integers (e.g. a frame's `seq`), so `1.0` keeps taking
    /// the JSONDecoder path and gets the answer it always got.
    /// `maxDepth`: containers nested deeper are refused (the listener passes
    /// `JSONShapeCheck.maxDepth`, so a value this parser returns also passes the shape check).
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, integerLiteralsOnly: Bool = false, maxDepth: Int = FastJSON.maxDepth
    ) -> JSONValue? {
        var parser = Parser(bytes: bytes)
        parser.integerLiteralsOnly = integerLiteralsOnly
        parser.maxDepth = min(maxDepth, FastJSON.maxDepth)
        parser.skipWhitespace()
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.index == bytes.count ? value : nil
    }

    public static func parse(
        _ bytes: some Collection<UInt8>, integerLiteralsOnly: Bool = false, maxDepth: Int = FastJSON.maxDepth
    ) -> JSONValue? {
        if let parsed = bytes.withContiguousStorageIfAvailable({
            parse(UnsafeRawBufferPointer($0), integerLiteralsOnly: integerLiteralsOnly, maxDepth: maxDepth)
        }) {
            return parsed
        }
        return Array(bytes).withUnsafeBytes { parse($0, integerLiteralsOnly: integerLiteralsOnly, maxDepth: maxDepth) }
    }

    struct Parser {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        var integerLiteralsOnly = false
        var maxDepth = FastJSON.maxDepth

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard index < bytes.count, depth < maxDepth else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
            default: return nil
            }
        }

        mutating func literal(_ text: StaticString, _ result: JSONValue) -> JSONValue? {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return nil }
            index += count
            return result
        }

        mutating func object(depth: Int) -> JSONValue? {
            index += 1
            // Envelopes, bodies and frames have 3 to 8 keys: one table from the start instead of
            // growing it two or three times.
            var fields: [String: JSONValue] = [:]
            fields.reserveCapacity(8)
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(fields)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipWhitespace()
                guard let member = value(depth: depth + 1) else { return nil }
                // Duplicate keys: leave the decision to JSONDecoder.
                guard fields.updateValue(member, forKey: key) == nil else { return nil }
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(fields)
                } else {
                    return nil
                }
            }
        }

        mutating func array(depth: Int) -> JSONValue? {
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                } else {
                    return nil
                }
            }
        }

        /// At an opening quote; returns the unescaped string and moves past the closing quote.
        mutating func string() -> String? {
            index += 1
            let start = index
            // Fast path: no escapes, the common case for ids, names and URLs.
            var ascii = true
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                    // ASCII is valid UTF-8 as it is; the generic validating initializer cost a
                    // sixth of a worker's CPU (metadata lookups per string).
                    let text = ascii ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self)
                    index += 1
                    return text
                }
                if byte >= 0x80 { ascii = false }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            var scalars: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(validating: scalars, as: UTF8.self)
                }
                if byte < 0x20 { return nil }
                if byte != UInt8(ascii: "\\") {
                    scalars.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    guard let unit = hex4() else { return nil }
                    var scalar: Unicode.Scalar?
                    if (0xD800...0xDBFF).contains(unit) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else {
                            return nil
                        }
                        index += 2
                        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                    } else {
                        scalar = Unicode.Scalar(unit)
                    }
                    guard let scalar else { return nil }
                    scalars.append(contentsOf: String(Character(scalar)).utf8)
                default:
                    return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        /// RFC 8259 number grammar, then the standard library's Double parsing; non-finite -> nil.
        mutating func number() -> JSONValue? {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                guard digits() > 0 else { return nil }
            }
            if integerLiteralsOnly, index < bytes.count,
                bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e")
                    || bytes[index] == UInt8(ascii: "E")
            {
                return nil
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard digits() > 0 else { return nil }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let number = Double(text), number.isFinite else { return nil }
            return .number(number)
        }

        mutating func digits() -> Int {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - start
        }
    }
}

extension Envelope {
    /// The envelope from an already parsed JSON object: the same value its Decodable init gives for
    /// well-typed input (unknown keys ignored, `app`/`time` optional and nullable), nil for anything
    /// else so the caller can fall back to `JSONDecoder` and its precise error.
    public init?(json: JSONValue) {
        guard case .object(let fields) = json,
            case .string(let id)? = fields["id"],
            case .string(let sourceText)? = fields["source"], let source = Source(rawValue: sourceText),
            case .string(let typeText)? = fields["type"], let type = MessageType(rawValue: typeText),
            let body = fields["body"], body != .null
        else { return nil }
        var app: String?
        switch fields["app"] {
        case nil, .null?: app = nil
        case .string(let text)?: app = text
        default: return nil
        }
        var time: String?
        switch fields["time"] {
        case nil, .null?: time = nil
        case .string(let text)?: time = text
        default: return nil
        }
        self.init(id: id, app: app, source: source, type: type, time: time, body: body)
    }
}
