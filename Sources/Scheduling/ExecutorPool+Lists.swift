import Shared

/// URL black/white lists (DESIGN sections 4 and 6): `list` messages from the WAF or an operator,
/// the lists of the app config, and the entries negative feedback adds.
extension ExecutorPool {
    /// The lists as they stand, for the worker's `lists` answer.
    package var lists: ListBook { policy.lists }

    /// A `list` message. A TTL of 0 means permanent, like every other 0 duration in the config.
    mutating func listRequest(_ change: ListChange, cause: Cause, now: Int64, into decision: inout Decision) {
        let ttl = change.ttl.map(\.milliseconds) ?? 0
        let expiresAt: Int64? = change.op == .add && ttl > 0 ? now.saturatingAdding(ttl) : nil
        if change.op == .add, !policy.lists.contains(change.list, change.url),
            policy.lists.count(change.list) >= ListBook.maxEntriesPerList
        {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "\(change.list.rawValue) add \(change.url) refused: the \(change.list.rawValue) holds "
                        + "\(ListBook.maxEntriesPerList) entries, the most an app keeps; remove entries or let them expire",
                    cause: cause))
            return
        }
        guard
            let update = policy.lists.apply(
                change.list, change.op, url: change.url, expiresAt: expiresAt,
                reason: "list message", cause: cause)
        else {
            decision.notes.append(
                .init(
                    executor: nil,
                    reason: "\(change.list.rawValue) \(change.op.rawValue) "
                        + "\(change.url): no change", cause: cause))
            return
        }
        decision.listChanges.append(update)
    }

    /// The entries of `lists:` in the app config that the stored lists lack, added permanently
    /// at start. An entry removed from the config is not removed from Redis: send a `list`
    /// message to remove it.
    package mutating func seedConfiguredLists(now: Int64) -> Decision {
        var decision = Decision()
        let configured = settings.policy.configuredLists
        for (list, urls) in [(ListChange.List.blacklist, configured.blacklist), (.whitelist, configured.whitelist)] {
            for url in urls where !policy.lists.contains(list, url) {
                if let update = policy.lists.apply(
                    list, .add, url: url, expiresAt: nil,
                    reason: "configured in lists.\(list.rawValue)", cause: .config)
                {
                    decision.listChanges.append(update)
                }
            }
        }
        return decision
    }
}
