import Shared

/// Decides where a new executor is created: the variant least represented among live executors,
/// on the healthy host carrying the fewest, so one host or one build never dominates.
package struct Placement: Sendable, Equatable {
    var variants: [String]
    package var hosts: [String]

    func next(live: [Executor], healthyHosts: Set<String>) -> (variant: String, host: String)? {
        let usable = hosts.filter(healthyHosts.contains)
        guard !usable.isEmpty, !variants.isEmpty else { return nil }
        var perVariant: [String: Int] = [:]
        var perHost: [String: Int] = [:]
        for executor in live {
            perVariant[executor.variant, default: 0] += 1
            perHost[executor.host, default: 0] += 1
        }
        // Config order breaks ties, which keeps placement reproducible for the same config.
        let variant = variants.min { (perVariant[$0] ?? 0) < (perVariant[$1] ?? 0) }!
        let host = usable.min { (perHost[$0] ?? 0) < (perHost[$1] ?? 0) }!
        return (variant, host)
    }
}
