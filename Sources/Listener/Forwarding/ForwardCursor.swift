import Shared

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

    /// Forwarding starts over after the worker's hello: from `acked + 1`, which a rewind may have
    /// lowered below what this connection's predecessor saw acknowledged.
    mutating func restart(acked journalAcked: UInt64) {
        acked = journalAcked
        nextToSend = journalAcked + 1
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

/// What the worker's answer to `{"op":"hello"}` means for forwarding (DESIGN section 10).
enum HelloPlan: Sendable, Equatable {
    /// Another epoch, or a worker of an older build that does not know hello: forward from the
    /// journal's acknowledged seq + 1, as before.
    case fromAcked
    /// The worker applied more than the journal saw acknowledged (the ack was lost with a
    /// crash): acknowledge up to there (never beyond what is durable).
    case acknowledge(UInt64)
    /// The worker stands below the acknowledged seq (its Redis lost writes): replay from seq + 1.
    case rewind(to: UInt64)

    /// `position` nil: the answer was not a hello. An epoch of null means Redis holds nothing yet:
    /// seq 0 of the journal's own epoch.
    static func decide(_ position: WorkerHello.Position?, epoch: String, acked: UInt64) -> HelloPlan {
        guard let position, position.epoch == nil || position.epoch == epoch else { return .fromAcked }
        if position.seq < acked { return .rewind(to: position.seq) }
        if position.seq > acked { return .acknowledge(position.seq) }
        return .fromAcked
    }
}
