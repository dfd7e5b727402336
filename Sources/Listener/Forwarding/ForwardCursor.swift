/// Where forwarding to one worker stands: what the worker acknowledged, what was sent on the current
/// connection, and how much may be in flight. A new connection replays from the last acknowledged seq.
struct ForwardCursor: Sendable, Equatable {
    private(set) var acked: UInt64
    private(set) var nextToSend: UInt64
    let window: Int

    init(acked: UInt64, window: Int) {
        self.acked = acked
        self.nextToSend = acked + 1
        self.window = window
    }

    var inFlight: Int { Int(nextToSend - 1 - acked) }
    var room: Int { max(0, window - inFlight) }

    /// A (re)connection: everything not acknowledged goes again, the worker dedupes.
    mutating func connected(acked journalAcked: UInt64) {
        acked = max(acked, journalAcked)
        nextToSend = acked + 1
    }

    mutating func sent(through seq: UInt64) {
        if seq >= nextToSend { nextToSend = seq + 1 }
    }

    /// A cumulative ack; returns the new acknowledged seq when it moved forward.
    mutating func acknowledged(_ seq: UInt64) -> UInt64? {
        guard seq > acked else { return nil }
        acked = seq
        if nextToSend <= acked { nextToSend = acked + 1 }
        return acked
    }
}
