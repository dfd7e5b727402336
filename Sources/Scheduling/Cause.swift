/// Why the pool is deciding: recorded as the `cause` of every event a decision writes, and read
/// by the rules that must tell a driver report or a clock tick from a message. An enum, so that
/// logic matches a case rather than a string a message id could happen to equal.
package enum Cause: Sendable, Equatable {
    /// A message, by its id; also the label a caller gives a `replenish` event.
    case message(String)
    /// A driver action finished (succeeded or failed).
    case driver
    /// The rotation or the housekeeping clock.
    case timer
    /// The worker loaded its state and refills the pools.
    case startup
    /// The lists of the app config, seeded at start.
    case config
    /// A host's probe crossed `fall` or `rise`.
    case host(String)
    /// The periodic online check.
    case onlineCheck

    /// The `cause` field of the events stream; operators and tests read these exact strings.
    package var text: String {
        switch self {
        case .message(let id): id
        case .driver: "driver"
        case .timer: "timer"
        case .startup: "startup"
        case .config: "config"
        case .host(let name): "host:\(name)"
        case .onlineCheck: "online-check"
        }
    }
}
