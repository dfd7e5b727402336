/// `redis.sentinel: { master, nodes, password }`: find the master through Redis Sentinel instead of
/// a fixed host (DESIGN section 11).
public struct SentinelSettings: Sendable, Equatable {
    public struct Node: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { "\(host):\(port)" }
    }

    /// The name the sentinels monitor the master under (`sentinel monitor <master> …`).
    public var master: String
    /// The sentinels to ask, tried in order; the one that answered moves to the front.
    public var nodes: [Node]
    /// `requirepass` of the sentinels themselves; nil when they have none. The master's own
    /// password stays `redis.password`.
    public var password: String?

    public init(master: String, nodes: [Node], password: String? = nil) {
        self.master = master
        self.nodes = nodes
        self.password = password
    }
}

/// `redis.wait: { replicas, timeout }`: a commit counts only once `replicas` replicas have it
/// (Redis `WAIT`), so a Sentinel failover cannot forget what was acknowledged.
public struct ReplicaWait: Sendable, Equatable {
    public var replicas: Int
    public var timeout: Duration

    public init(replicas: Int, timeout: Duration) {
        self.replicas = replicas
        self.timeout = timeout
    }

    /// `WAIT`'s timeout argument; at least 1 ms, since 0 would mean "wait forever".
    public var timeoutMilliseconds: Int64 {
        let parts = timeout.components
        return max(1, parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
    }
}
