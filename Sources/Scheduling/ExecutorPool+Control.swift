import Shared

/// Manual control by an operator: `set_state` moves one executor (any legal transition; putting
/// one online when the set is full rotates the longest-online out), `pause` and `resume` stop and
/// restart the automatic rules.
extension ExecutorPool {
    mutating func setState(_ request: SetStateRequest, cause: Cause, now: Int64, into decision: inout Decision) {
        guard let executor = executors[request.executor] else {
            decision.notes.append(
                .init(
                    executor: request.executor,
                    reason: "set_state refused: unknown executor", cause: cause))
            return
        }
        let target = ExecutorState(rawValue: request.state.rawValue)!
        let reason = "operator: \(request.reason ?? "set_state \(target.rawValue)")"
        guard executor.state.canMove(to: target) else {
            let allowed = ExecutorState.allCases.filter { executor.state.canMove(to: $0) }.map(\.rawValue)
            decision.notes.append(
                .init(
                    executor: executor.id,
                    reason: "set_state refused: \(executor.state.rawValue) -> \(target.rawValue) is not allowed "
                        + "(from \(executor.state.rawValue): \(allowed.joined(separator: ", ")))",
                    cause: cause))
            return
        }
        if target == .online, count(.online) >= settings.replicas.online {
            if let oldest = longestOnline {
                move(
                    oldest.id, to: .cleaning, reason: "rotated out: operator put \(executor.id) online",
                    cause: cause, now: now, into: &decision)
            }
        }
        move(executor.id, to: target, reason: reason, cause: cause, now: now, into: &decision)
    }

    mutating func setPaused(_ paused: Bool, cause: Cause, into decision: inout Decision) {
        if meta.paused != paused {
            meta.paused = paused
            decision.metaChanged = true
        }
        decision.notes.append(
            .init(
                executor: nil,
                reason: paused ? "automatic scheduling paused" : "automatic scheduling resumed",
                cause: cause))
    }
}
