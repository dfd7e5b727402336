/// Which live instance owns which app (DESIGN section 11: "apps are spread evenly over the live
/// instances"). Pure: every instance computes the same map from the same live set, without talking.
///
/// Rendezvous (highest-random-weight) hashing with bounded loads: each (app, instance) pair has a
/// stable weight, and the apps, in sorted order, each take their highest-weighted instance that
/// still has room. With n apps on k instances, n = q·k + r, room is q + 1 apps (ceil(n/k)) until r
/// instances hold that many, then q: so exactly r instances get q + 1 and the others q (a flat
/// ceil(n/k) cap alone could leave one instance short, 4 apps on 3 instances as 2, 2, 0). The
/// weights alone would move only the apps of an instance that came or went; the cap keeps the
/// spread even at the cost of a few more moves, the apps it pushes off their first choice.
enum AppPlacement {
    /// Each app mapped to one of `instances`; empty when there is no instance. The same sets give
    /// the same map whatever their order (duplicates count once).
    static func assign(apps: [String], instances: [String]) -> [String: String] {
        let instances = Array(Set(instances)).sorted()
        let apps = Array(Set(apps)).sorted()
        guard !instances.isEmpty else { return [:] }
        let (floor, extra) = apps.count.quotientAndRemainder(dividingBy: instances.count)
        var full = 0
        var load = [String: Int](minimumCapacity: instances.count)
        var placement = [String: String](minimumCapacity: apps.count)
        for app in apps {
            let room = full < extra ? floor + 1 : floor
            // Highest weight first; a tie (a 64-bit collision) goes to the smaller name, so the
            // order is total and the same everywhere.
            let ranked = instances.map { (weight: weight(app: app, instance: $0), name: $0) }
                .sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.name < $1.name }
            // Always found: until every app is placed, the rooms add up to more than the load.
            guard let chosen = ranked.first(where: { load[$0.name, default: 0] < room })?.name else { continue }
            load[chosen, default: 0] += 1
            if load[chosen] == floor + 1 { full += 1 }
            placement[app] = chosen
        }
        return placement
    }

    /// The pair's rendezvous weight: FNV-1a 64 over the UTF-8 of "app\0instance", then a 64-bit
    /// finalizer (FNV alone mixes its last bytes poorly, and instance names often differ only
    /// there). Stable across processes and versions, unlike `Hasher`, which is seeded per process.
    static func weight(app: String, instance: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        for byte in app.utf8 { mix(byte) }
        mix(0)
        for byte in instance.utf8 { mix(byte) }
        // splitmix64's finalizer.
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}
