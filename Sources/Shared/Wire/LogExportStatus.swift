/// The syslog exporter of one worker, as `{"op":"status"}` reports it under `log_export`.
public struct LogExportStatus: Sendable, Equatable, Codable {
    /// `tcp://host:port` or `tls://host:port`.
    public var target: String
    public var connected: Bool
    /// Events written to the collector by this process.
    public var sent: Int64
    /// Events the stream trimmed before they were sent, since export began for this app (kept in
    /// Redis with the cursor, so a restart does not reset it).
    public var dropped: Int64
    /// The stream id of the last event sent; nil before the first.
    public var lastSentID: String?
    /// Connections opened to the collector by this process.
    public var connects: Int64
    /// Why the last connection attempt, write or stream read failed; nil once one succeeds.
    public var lastError: String?

    public init(
        target: String, connected: Bool = false, sent: Int64 = 0, dropped: Int64 = 0, lastSentID: String? = nil,
        connects: Int64 = 0, lastError: String? = nil
    ) {
        self.target = target
        self.connected = connected
        self.sent = sent
        self.dropped = dropped
        self.lastSentID = lastSentID
        self.connects = connects
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case target, connected, sent, dropped, connects
        case lastSentID = "last_sent_id"
        case lastError = "last_error"
    }

    /// Every key is written (null when unknown), so readers find them all.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(connected, forKey: .connected)
        try container.encode(sent, forKey: .sent)
        try container.encode(dropped, forKey: .dropped)
        try container.encode(lastSentID, forKey: .lastSentID)
        try container.encode(connects, forKey: .connects)
        try container.encode(lastError, forKey: .lastError)
    }
}
