import Shared

/// The apps the listener serves, as read from apps_dir: names, and executor host addresses for
/// routing waf/firewall alerts that name an address instead of an app.
struct AppDirectory: Sendable {
    let apps: [String: AppConfig]
    private let appsByAddress: [String: [String]]

    init(apps: [AppConfig]) {
        var byName: [String: AppConfig] = [:]
        var byAddress: [String: [String]] = [:]
        for app in apps {
            byName[app.app] = app
            for host in app.hosts {
                let address = AlertAddress(host.address).host
                if !(byAddress[address]?.contains(app.app) ?? false) { byAddress[address, default: []].append(app.app) }
            }
        }
        self.apps = byName
        self.appsByAddress = byAddress
    }

    var names: [String] { apps.keys.sorted() }

    /// Asked for every message: by key alone, since `apps[app] != nil` copies the whole config
    /// out (its retains were 7 % of the intake in a profile).
    func contains(_ app: String) -> Bool { apps.index(forKey: app) != nil }

    enum AddressRoute: Equatable {
        case app(String)
        case none
        case ambiguous([String])
    }

    /// An `ip:port` goes to the app whose worker last reported that endpoint (`owners`: an
    /// endpoint's IP need not be its host's configured address); otherwise, and for a bare IP, to
    /// the one app with a host at that address.
    func route(address text: String, owners: EndpointOwners? = nil) -> AddressRoute {
        let address = AlertAddress(text)
        if let owner = owners?.owner(of: address), contains(owner) { return .app(owner) }
        guard let apps = appsByAddress[address.host], !apps.isEmpty else { return .none }
        return apps.count == 1 ? .app(apps[0]) : .ambiguous(apps.sorted())
    }
}
