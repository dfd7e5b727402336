import Shared

/// One message received on a subscribed channel.
public struct RedisMessage: Sendable, Hashable {
    public var channel: String
    /// The PSUBSCRIBE pattern that matched, nil for a plain SUBSCRIBE.
    public var pattern: String?
    public var payload: [UInt8]

    public init(channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload as text (invalid UTF-8 is replaced); bracket messages are JSON.
    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// Reads a pushed `message` or `pmessage` reply; nil for anything else (subscribe
    /// confirmations, pongs).
    init?(pushed reply: RedisReply) {
        guard let parts = reply.array, let kind = parts.first?.string else { return nil }
        switch kind {
        case "message" where parts.count == 3:
            guard let channel = parts[1].string, let payload = parts[2].bytes else { return nil }
            self.init(channel: channel, payload: payload)
        case "pmessage" where parts.count == 4:
            guard let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes
            else { return nil }
            self.init(channel: channel, pattern: pattern, payload: payload)
        default:
            return nil
        }
    }
}
