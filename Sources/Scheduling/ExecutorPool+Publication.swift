import Shared

/// The online set for the left bracket and the weights for the right bracket's voting, on
/// `mimic:{app}:online` (DESIGN section 6).
extension ExecutorPool {
    /// Weight changes smaller than this are not worth a new online-set version.
    static let weightEpsilon = 0.05

    /// The online set to publish when membership changed or a weight moved more than
    /// `weightEpsilon` since the last publication; bumps the version so it only grows.
    package mutating func onlinePublication(app: String) -> OnlineView? {
        let online = executors.values.filter { $0.state == .online }.sorted { $0.id < $1.id }
        let changed =
            Set(online.map(\.id)) != Set(publishedWeights.keys)
            || online.contains { abs(($0.confidence) - (publishedWeights[$0.id] ?? -1)) > Self.weightEpsilon }
        guard changed else { return nil }
        publishedWeights = Dictionary(online.map { ($0.id, $0.confidence) }, uniquingKeysWith: { a, _ in a })
        meta.onlineVersion += 1
        return OnlineView(
            app: app, version: meta.onlineVersion,
            online: online.map {
                OnlineView.Member(
                    id: $0.id, endpoint: $0.endpoint, variant: $0.variant,
                    weight: (($0.confidence * 1000).rounded()) / 1000)
            })
    }
}
