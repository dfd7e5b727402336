import Shared

/// The online set for the left bracket and the weights for the right bracket's voting, on
/// `mimic:{app}:online` (DESIGN section 6). A weight is the executor's confidence, times its
/// variant's learned trust when `scheduling.learning` is on.
extension ExecutorPool {
    /// Weight changes smaller than this are not worth a new online-set version.
    static let weightEpsilon = 0.05

    /// The online set to publish when membership changed or a weight moved more than
    /// `weightEpsilon` since the last publication; bumps the version so it only grows.
    package mutating func onlinePublication(app: String) -> OnlineView? {
        let online = executors.values.filter { $0.state == .online }.sorted { $0.id < $1.id }
        let trust = Dictionary(
            Set(online.map(\.variant)).map { ($0, learnedVariantTrust($0)) }, uniquingKeysWith: { a, _ in a })
        let exact = online.map { $0.confidence * (trust[$0.variant] ?? 1) }
        let changed =
            Set(online.map(\.id)) != Set(publishedWeights.keys)
            || zip(online, exact).contains { abs($1 - (publishedWeights[$0.id] ?? -1)) > Self.weightEpsilon }
        guard changed else { return nil }
        // Remembered as published (rounded): a restarted worker reads them back from the view, and
        // must compare against the same values to publish when this process would have.
        let weights = exact.map { (($0 * 1000).rounded()) / 1000 }
        publishedWeights = Dictionary(zip(online.map(\.id), weights), uniquingKeysWith: { a, _ in a })
        meta.onlineVersion += 1
        return OnlineView(
            app: app, version: meta.onlineVersion,
            online: zip(online, weights).map { executor, weight in
                OnlineView.Member(
                    id: executor.id, endpoint: executor.endpoint, variant: executor.variant, weight: weight)
            })
    }
}
