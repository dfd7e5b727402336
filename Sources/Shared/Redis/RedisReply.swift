import CHiredis

/// One reply from Redis, copied out of hiredis memory so it can outlive the reply object and cross
/// threads.
public enum RedisReply: Sendable, Hashable {
    case status(String)
    case error(String)
    case integer(Int64)
    /// Bulk strings stay bytes: values are binary-safe and need not be UTF-8.
    case bulk([UInt8])
    case null
    case array([RedisReply])

    /// Status text, or a bulk string that is valid UTF-8.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// Integer replies, and bulk strings holding a decimal number (HGET of a counter, for example).
    public var int: Int? {
        switch self {
        case .integer(let value): Int(exactly: value)
        case .bulk, .status: string.flatMap { Int($0) }
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The elements of an array reply as strings; nil if any element is not a string.
    public var strings: [String]? {
        guard let array else { return nil }
        var result: [String] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let text = element.string else { return nil }
            result.append(text)
        }
        return result
    }

    /// A flat field/value array (HGETALL, CONFIG GET) as a dictionary.
    public var dictionary: [String: String]? {
        guard let strings, strings.count.isMultiple(of: 2) else { return nil }
        return strings.fieldPairs
    }

    public var isOK: Bool { self == .status("OK") }

    public var isNull: Bool { self == .null }

    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// Deep copy of a hiredis reply; the caller still owns and frees `reply`.
    init(copying reply: UnsafePointer<redisReply>) {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STATUS:
            self = .status(Self.text(node))
        case REDIS_REPLY_ERROR:
            self = .error(Self.text(node))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(node.integer))
        case REDIS_REPLY_STRING:
            self = .bulk(Self.bytes(node))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(node.elements)
            for index in 0..<node.elements {
                if let element = node.element[index] {
                    elements.append(RedisReply(copying: element))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    private static func bytes(_ node: redisReply) -> [UInt8] {
        guard let start = node.str, node.len > 0 else { return [] }
        return start.withMemoryRebound(to: UInt8.self, capacity: node.len) {
            Array(UnsafeBufferPointer(start: $0, count: node.len))
        }
    }

    private static func text(_ node: redisReply) -> String {
        String(decoding: bytes(node), as: UTF8.self)
    }
}
