import Synchronization

/// Finds an app's Redis master through its sentinels, as the Sentinel client spec asks: try the
/// sentinels in order, take the first that names a master, and move that sentinel to the front so
/// the next lookup asks it first. The master itself is confirmed with `ROLE` by `RedisConnection`.
public final class SentinelDirectory: Sendable {
    public let settings: SentinelSettings
    private let order: Mutex<[SentinelSettings.Node]>
    private let connectTimeout: Duration

    public init(_ settings: SentinelSettings, connectTimeout: Duration) {
        self.settings = settings
        self.connectTimeout = connectTimeout
        order = Mutex(settings.nodes)
    }

    /// The sentinels in the order the next lookup tries them.
    public var nodes: [SentinelSettings.Node] { order.withLock { $0 } }

    /// Blocking: asks each sentinel in turn; throws `RedisError.noMaster` naming what each said.
    public func masterAddress() throws(RedisError) -> SentinelSettings.Node {
        var failures: [String] = []
        for node in nodes {
            do {
                let connection = try sentinelConnection(node)
                let reply = try connection.command(["SENTINEL", "get-master-addr-by-name", settings.master])
                guard let words = reply.array?.compactMap(\.string), words.count == 2, let port = Int(words[1]),
                    (1...65535).contains(port)
                else {
                    failures.append("\(node) knows no master named \(settings.master) (answered \(reply))")
                    continue
                }
                promote(node)
                return SentinelSettings.Node(host: words[0], port: port)
            } catch let error as RedisError {
                failures.append("\(node): \(error)")
            } catch {
                failures.append("\(node): \(error)")
            }
        }
        throw .noMaster(master: settings.master, detail: failures.joined(separator: "; "))
    }

    /// A plain connection to one sentinel (db 0, the sentinels' own password).
    public func sentinelConnection(_ node: SentinelSettings.Node, commandTimeout: Duration? = nil) throws
        -> RedisConnection
    {
        try RedisConnection(
            settings: RedisSettings(
                host: node.host, port: node.port, db: 0, password: settings.password, connectTimeout: connectTimeout),
            commandTimeout: commandTimeout ?? connectTimeout)
    }

    private func promote(_ node: SentinelSettings.Node) {
        order.withLock { nodes in
            guard let index = nodes.firstIndex(of: node), index > 0 else { return }
            nodes.remove(at: index)
            nodes.insert(node, at: 0)
        }
    }
}
