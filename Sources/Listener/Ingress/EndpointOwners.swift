import NIOConcurrencyHelpers
import Shared

/// Which app owns which executor endpoint, as the workers last said (`executors` on their
/// sockets, asked every second; in cluster mode, for apps whose worker runs elsewhere, the online
/// set the owner's worker published in Redis). Used only to route an alert that names `ip:port` on a host
/// address several apps share: the apps' configs know hosts, only the workers know endpoints.
final class EndpointOwners: Sendable {
    private let owners = NIOLockedValueBox([String: String]())

    /// Replaces what `app` owns with the endpoints of its live executors.
    func update(app: String, executors: [Executor]) {
        update(app: app, endpoints: executors.filter { $0.state == .online || $0.state == .standby }.map(\.endpoint))
    }

    /// Replaces what `app` owns with `live` (cluster mode, an app whose worker runs on another
    /// instance: the endpoints of its published online set).
    func update(app: String, endpoints live: [String]) {
        owners.withLockedValue { owners in
            owners = owners.filter { $0.value != app }
            for endpoint in live { owners[Self.key(AlertAddress(endpoint))] = app }
        }
    }

    func forget(app: String) { owners.withLockedValue { $0 = $0.filter { $0.value != app } } }

    var apps: Set<String> { owners.withLockedValue { Set($0.values) } }

    func owner(of address: AlertAddress) -> String? {
        guard case .endpoint = address else { return nil }
        return owners.withLockedValue { $0[Self.key(address)] }
    }

    private static func key(_ address: AlertAddress) -> String {
        switch address {
        case .endpoint(let host, let port): "\(host) \(port)"
        case .host(let host): host
        }
    }
}
