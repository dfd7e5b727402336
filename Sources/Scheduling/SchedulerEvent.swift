import Shared

/// Everything that can change an app's executors: a message from the brackets, the WAF, the
/// firewall or an operator, or the outcome of a driver action the worker started earlier.
package enum SchedulerEvent: Sendable, Equatable {
    /// `cause` is the message id, recorded with every transition it leads to.
    case message(MessageBody, cause: String)
    case actionSucceeded(DriverAction, endpoint: String?)
    case actionFailed(DriverAction, error: String)
    /// Bring the pools to their targets (start-up, after a host change).
    case replenish(cause: Cause)
    /// A host's probe crossed `fall` failures (down) or `rise` successes (up).
    case host(HostReport)
    /// The periodic online check: what the drivers list, compared with the pools.
    case onlineCheck(OnlineCheckReport)
    /// The rotation clock fired (`rotate_every` with jitter): rotate the longest-online executor.
    case rotationDue
    /// The housekeeping clock fired: release dirty executors past `dirty_ttl`, expire list entries.
    case housekeeping
}

/// Work for a host driver, run after the decision that asked for it is committed.
package struct DriverAction: Sendable, Equatable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        case create
        case clean
        case remove
    }
    package var kind: Kind
    package var executor: String
    package var variant: String
    package var host: String
}
