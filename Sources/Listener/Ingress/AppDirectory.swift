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
            for host in app.hosts where !(byAddress[host.address]?.contains(app.app) ?? false) {
                byAddress[host.address, default: []].append(app.app)
            }
        }
        self.apps = byName
        self.appsByAddress = byAddress
    }

    var names: [String] { apps.keys.sorted() }

    func contains(_ app: String) -> Bool { apps[app] != nil }

    enum AddressRoute: Equatable {
        case app(String)
        case none
        case ambiguous([String])
    }

    func route(address: String) -> AddressRoute {
        guard let apps = appsByAddress[address], !apps.isEmpty else { return .none }
        return apps.count == 1 ? .app(apps[0]) : .ambiguous(apps.sorted())
    }
}
