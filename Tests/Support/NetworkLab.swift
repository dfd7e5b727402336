import Foundation

/// Hosts of a test on one machine, each a network namespace of its own with one address on a
/// private /24, joined by a bridge in a hub namespace (issue 14 item 5). Cutting a host takes its
/// bridge port down: its packets go nowhere and nothing answers, as when a cable or a switch
/// fails, so connections hang until their timeouts instead of being refused.
///
/// The test process reaches every host through one veth pair between its own namespace and the
/// hub (address .254); traffic goes only to the addresses given here. Every namespace carries the
/// run id (MIMIC_TEST_RUN) in its name, so scripts/check-test-leftovers.sh sees the mount of one
/// the test did not delete. Deleting the hub deletes every veth pair with it.
public final class NetworkLab: @unchecked Sendable {
    public struct Host: Sendable {
        public let name: String
        public let namespace: String
        public let address: String
        /// The host's port on the hub's bridge: taking it down cuts the host off.
        let bridgePort: String
    }

    /// The first three octets of the lab's /24.
    public let subnet: String
    public var observerAddress: String { "\(subnet).254" }
    private let tag: String
    private let hub: String
    private let rootLink: String
    private(set) public var hosts: [String: Host] = [:]

    public init() throws {
        let run = ProcessInfo.processInfo.environment["MIMIC_TEST_RUN"].map { "\($0.prefix(16))-" } ?? ""
        tag = String(format: "%06x", UInt32.random(in: 0..<0xFF_FFFF))
        hub = "mimic-\(run)\(tag)-hub"
        rootLink = "mn\(tag)o"
        subnet = try Self.freeSubnet()
        try Self.ip(["netns", "add", hub])
        do {
            try Self.ip(["-n", hub, "link", "add", "br0", "type", "bridge"])
            try Self.ip(["-n", hub, "link", "set", "br0", "up"])
            try Self.ip(["link", "add", rootLink, "type", "veth", "peer", "name", "\(rootLink)p"])
            try Self.ip(["link", "set", "\(rootLink)p", "netns", hub])
            try Self.ip(["-n", hub, "link", "set", "\(rootLink)p", "master", "br0", "up"])
            try Self.ip(["addr", "add", "\(observerAddress)/24", "dev", rootLink])
            try Self.ip(["link", "set", rootLink, "up"])
        } catch {
            try? Self.ip(["netns", "delete", hub])
            try? Self.ip(["link", "delete", rootLink])
            throw error
        }
    }

    /// A new host with the next free address; its loopback is up too.
    @discardableResult
    public func addHost(_ name: String) throws -> Host {
        precondition(hosts[name] == nil, "host \(name) exists")
        let index = hosts.count + 1
        let run = ProcessInfo.processInfo.environment["MIMIC_TEST_RUN"].map { "\($0.prefix(16))-" } ?? ""
        let namespace = "mimic-\(run)\(tag)-\(name)"
        let inside = "mn\(tag)h\(index)"
        let host = Host(name: name, namespace: namespace, address: "\(subnet).\(index)", bridgePort: "\(inside)p")
        try Self.ip(["netns", "add", namespace])
        try Self.ip(["link", "add", inside, "type", "veth", "peer", "name", host.bridgePort])
        try Self.ip(["link", "set", inside, "netns", namespace])
        try Self.ip(["link", "set", host.bridgePort, "netns", hub])
        try Self.ip(["-n", hub, "link", "set", host.bridgePort, "master", "br0", "up"])
        try Self.ip(["-n", namespace, "link", "set", inside, "name", "eth0"])
        try Self.ip(["-n", namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
        try Self.ip(["-n", namespace, "link", "set", "eth0", "up"])
        try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
        hosts[name] = host
        return host
    }

    public subscript(_ name: String) -> Host { hosts[name]! }

    /// The command line that runs `executable` on `host` (`ip netns exec` execs it, so the PID
    /// the spawn returns is the program's).
    public func launcher(on host: String) -> [String] {
        [Self.ipPath, "netns", "exec", self[host].namespace]
    }

    /// Takes the host's bridge port down: a network partition of that host.
    public func cut(_ host: String) throws {
        try Self.ip(["-n", hub, "link", "set", self[host].bridgePort, "down"])
    }

    public func heal(_ host: String) throws {
        try Self.ip(["-n", hub, "link", "set", self[host].bridgePort, "up"])
    }

    /// Deletes every namespace of the lab; idempotent (a test calls it on every exit path, and
    /// deinit once more).
    public func delete() {
        for host in hosts.values { try? Self.ip(["netns", "delete", host.namespace]) }
        hosts.removeAll()
        try? Self.ip(["netns", "delete", hub])
        // The veth's peer went with the hub; the kernel removes this end too, unless it is
        // still here because the hub never got it.
        if (try? ChildProcess.run(executable: Self.ipPath, arguments: ["link", "show", rootLink])) != nil {
            try? Self.ip(["link", "delete", rootLink])
        }
    }

    deinit { delete() }

    static let ipPath =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "/usr/sbin/ip"

    static func ip(_ arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: ipPath) else {
            throw TestSupportError("ip not found: run `make deps` (apt-get install iproute2)")
        }
        _ = try ChildProcess.run(executable: ipPath, arguments: arguments)
    }

    /// A 10.x.y.0/24 that no route of this machine covers.
    private static func freeSubnet() throws -> String {
        let routes = try ChildProcess.run(executable: ipPath, arguments: ["-4", "route", "show", "table", "all"])
        for _ in 0..<50 {
            let candidate = "10.\(Int.random(in: 200...250)).\(Int.random(in: 1...254))"
            if !routes.contains(candidate + ".") && !routes.contains("10.0.0.0/8") { return candidate }
        }
        throw TestSupportError("no free 10.x.y.0/24 for a network lab: \(routes)")
    }
}
