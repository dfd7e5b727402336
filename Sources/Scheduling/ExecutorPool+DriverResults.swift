import Shared

/// Driver results (DESIGN section 7, "Decide fast, act asynchronously"): the create, clean and
/// remove a decision asked for report back here. A result for an executor that has moved on in
/// the meantime changes nothing; a failed create or clean takes the executor offline and counts
/// against its host (see `placeableHosts`).
extension ExecutorPool {
    mutating func actionSucceeded(
        _ action: DriverAction, endpoint: String?, now: Int64,
        into decision: inout Decision
    ) {
        guard var executor = executors[action.executor] else { return }
        switch action.kind {
        case .create:
            guard executor.state == .initializing else { return }
            failedCreates[executor.host] = nil
            if let endpoint { executor.endpoint = endpoint }
            executors[executor.id] = executor
            move(
                executor.id, to: .standby, reason: "created on \(executor.host)", cause: .driver, now: now,
                into: &decision)
        case .clean:
            guard executor.state == .cleaning else { return }
            failedCreates[executor.host] = nil
            if let endpoint { executor.endpoint = endpoint }
            executors[executor.id] = executor
            move(
                executor.id, to: .initializing, reason: "restored from clean image", cause: .driver, now: now,
                into: &decision)
            move(
                executor.id, to: .standby, reason: "ready after cleaning", cause: .driver, now: now,
                into: &decision)
        case .remove:
            // An orphan removed from another host may carry the id of a live executor.
            guard executor.host == action.host else { return }
            forget(executor.id)
            decision.transitions.append(
                .init(
                    executor: executor.id, from: executor.state, to: nil,
                    reason: "removed from \(executor.host)", cause: .driver))
            decision.touched.insert(executor.id)
        }
    }

    mutating func actionFailed(_ action: DriverAction, error: String, now: Int64, into decision: inout Decision) {
        guard let executor = executors[action.executor] else { return }
        switch action.kind {
        case .create, .clean:
            let expected: ExecutorState = action.kind == .create ? .initializing : .cleaning
            guard executor.state == expected else { return }
            failedCreates[executor.host, default: 0] += 1
            move(
                executor.id, to: .offline, reason: "\(action.kind.rawValue) failed: \(error)", cause: .driver,
                now: now, into: &decision)
        case .remove:
            decision.notes.append(.init(executor: executor.id, reason: "remove failed: \(error)", cause: .driver))
        }
    }
}
