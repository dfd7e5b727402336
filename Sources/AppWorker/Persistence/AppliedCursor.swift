/// Where the worker stands in the listener's journal: the (epoch, seq) of the last frame whose
/// effects are committed (`mimic:{app}:applied`). It judges each incoming frame, so replays after a
/// reconnect are acknowledged without being applied twice (DESIGN section 5).
struct AppliedCursor: Sendable {
    private(set) var position: (epoch: String, seq: UInt64)?

    init(_ position: (epoch: String, seq: UInt64)?) {
        self.position = position
    }

    enum Verdict: Sendable, Equatable {
        /// The next frame (or the first of an epoch the worker has not seen): apply it.
        case apply
        /// Already in effect: acknowledge, do not apply.
        case replayed
        /// Skips seqs of the current epoch; `expected` is the one the worker needs next.
        case gap(expected: UInt64)
    }

    func verdict(epoch: String, seq: UInt64) -> Verdict {
        guard let position, position.epoch == epoch else { return .apply }
        if seq <= position.seq { return .replayed }
        if seq != position.seq + 1 { return .gap(expected: position.seq + 1) }
        return .apply
    }

    mutating func advance(epoch: String, seq: UInt64) {
        position = (epoch, seq)
    }
}
