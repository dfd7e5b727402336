/// Frames of the app socket (DESIGN section 5), one JSON object per line.
public struct DeliveryFrame: Sendable, Equatable, Codable {
    public var epoch: String
    public var seq: UInt64
    public var msg: Envelope
    public init(epoch: String, seq: UInt64, msg: Envelope) {
        self.epoch = epoch
        self.seq = seq
        self.msg = msg
    }
}

/// Cumulative: every frame up to `ack` of the current epoch has taken effect in Redis.
public struct AckFrame: Sendable, Equatable, Codable {
    public var ack: UInt64
    public init(ack: UInt64) { self.ack = ack }
}

/// Requests any client may send to a worker socket.
public enum SocketOp: String, Sendable, Codable {
    case status
    case executors
    /// The newest committed events (a timeline for the status page), oldest first.
    case events
    case ping
}
