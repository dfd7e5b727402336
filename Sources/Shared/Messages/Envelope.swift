/// The message envelope of DESIGN section 4, as senders write it and as the listener journals it.
public struct Envelope: Sendable, Equatable, Codable {
    public var id: String
    public var app: String?
    public var source: Source
    public var type: MessageType
    public var time: String?
    public var body: JSONValue

    public init(
        id: String, app: String?, source: Source, type: MessageType, time: String? = nil,
        body: JSONValue = .object([:])
    ) {
        self.id = id
        self.app = app
        self.source = source
        self.type = type
        self.time = time
        self.body = body
    }
}

public enum Source: String, Sendable, Equatable, Codable, CaseIterable {
    case leftBracket = "left_bracket"
    case rightBracket = "right_bracket"
    case waf
    case firewall
    case admin
}

public enum MessageType: String, Sendable, Equatable, Codable, CaseIterable {
    case health
    case arbitration
    case alert
    case list
    case setState = "set_state"
    case rotate
    case pause
    case resume
}
