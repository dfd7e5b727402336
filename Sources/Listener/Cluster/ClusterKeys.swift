/// The cluster's keys in the cluster Redis (listener.yaml `cluster.redis`, its configured DB;
/// DESIGN section 11).
///
/// - `mimic:cluster:instances` (sorted set): the live scheduler instances, each scored by the unix
///   ms (Redis server time) its heartbeat runs out at; a heartbeat drops the members past it.
/// - `mimic:cluster:lease:{app}` (string): `<token> <instance>` while an instance owns the app,
///   with a PX expiry of one lease that Redis enforces itself; absent when the app is free.
/// - `mimic:cluster:fence:{app}` (string counter): the app's last fencing token; only INCR moves
///   it, once per change of owner, and it never expires.
struct ClusterKeys: Sendable, Equatable {
    static let instances = "mimic:cluster:instances"

    static func lease(app: String) -> String { "mimic:cluster:lease:\(app)" }

    static func fence(app: String) -> String { "mimic:cluster:fence:\(app)" }
}
