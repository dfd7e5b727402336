import Shared

/// How many executors sit in each part of the pools, counted in one pass without allocating:
/// `replenish` runs after every event and asks this first, to skip its filter-and-sort passes
/// when none of them could change anything.
struct PoolCensus: Sendable, Equatable {
    var online = 0
    var standby = 0
    /// Standby, initializing or cleaning: on their way to online.
    var onTheWay = 0
    var flaggedOnline = false

    init(_ executors: Dictionary<String, Executor>.Values) {
        for executor in executors {
            switch executor.state {
            case .online:
                online += 1
                if executor.flagged { flaggedOnline = true }
            case .standby:
                standby += 1
                onTheWay += 1
            case .initializing, .cleaning: onTheWay += 1
            default: break
            }
        }
    }

    /// Executors to create for online + standby + those on their way to reach the targets.
    func missing(_ replicas: Replicas) -> Int {
        replicas.online + replicas.standby - online - onTheWay
    }
}
