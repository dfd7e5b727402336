import Foundation
import Shared

/// The cluster layout's choices (`mimicctl kube --replicas N`, N >= 2; DESIGN section 11): where
/// the apps' and the leases' Redis is, and the `cluster:` key every pod's listener.yaml gets.
struct KubeCluster {
    /// Where the apps' Redis runs: the one `kube` renders, or the operator's Sentinel set named
    /// in every app's `redis:` block, which `kube` keeps as given and does not run.
    enum Redis: Equatable {
        case rendered
        case sentinel
    }

    var replicas: Int
    var redis: Redis
    /// `cluster.redis`: the leases' Redis, with its password (so it goes to a Secret).
    var leases: RedisSettings
    var lease: Duration

    /// The leases' db when listener.yaml names none: the highest db no app uses, so it stays out
    /// of the way of apps numbered from 0 or 1 up.
    static func freeDB(_ apps: [AppConfig]) -> Int? {
        let used = Set(apps.map(\.redis.db))
        return (0...15).reversed().first { !used.contains($0) }
    }

    init(replicas: Int, apps: [AppConfig], listener: ListenerConfig?, rendered: ComposeRedis, password: String)
        throws
    {
        self.replicas = replicas
        let sentinelApps = apps.filter { $0.redis.sentinel != nil }
        if let named = sentinelApps.first, let plain = apps.first(where: { $0.redis.sentinel == nil }) {
            throw CtlFailure.usage(
                "\(named.sourceFile): redis names sentinels but app \(plain.app)'s (\(plain.sourceFile)) does not; "
                    + "in the cluster layout either every app's redis is the operator's Sentinel set, or none is and kube renders one Redis"
            )
        }
        redis = sentinelApps.isEmpty ? .rendered : .sentinel
        let given = listener?.cluster
        let origin = listener?.sourceFile ?? "listener.yaml"
        lease = given?.lease ?? .seconds(3)
        switch redis {
        case .rendered:
            if given?.redis.sentinel != nil {
                throw CtlFailure.usage(
                    "\(origin): cluster.redis names sentinels but the apps' redis blocks do not; kube keeps the leases in the Redis "
                        + "the apps use: give every app's redis the sentinel form, or remove sentinel from cluster.redis"
                )
            }
            guard let db = given?.redis.db ?? Self.freeDB(apps) else {
                throw CtlFailure.usage(
                    "the apps use every Redis db 0-15; the cluster's leases need a db of their own: move an app to another Redis"
                )
            }
            leases = RedisSettings(
                host: rendered.host, port: rendered.port, db: db, password: password,
                connectTimeout: given?.redis.connectTimeout ?? .seconds(2))
        case .sentinel:
            if let given {
                leases = given.redis
            } else {
                guard let db = Self.freeDB(apps), let first = sentinelApps.first else {
                    throw CtlFailure.usage(
                        "the apps use every Redis db 0-15; give listener.yaml a cluster.redis whose db is no app's")
                }
                leases = first.redis
                leases.db = db
            }
        }
        // The listener refuses to start on this (ListenerRuntime.checkClusterRedis); found here,
        // it is the operator's file that is named, before anything is applied. In the rendered
        // layout every app is on the one Redis, whatever host the operator's files name.
        for app in apps where app.redis.db == leases.db && (redis == .rendered || app.redis.server == leases.server) {
            throw CtlFailure.usage(
                "\(origin): cluster.redis.db \(leases.db) is app \(app.app)'s (\(app.sourceFile)); "
                    + "give the cluster's leases a db no app uses (kube picks the highest free one when cluster: is absent)"
            )
        }
    }

    /// `cluster:` as one line of listener.yaml.
    var line: String {
        "cluster: { redis: \(Self.flow(leases)), lease: \(DurationText.format(lease)) }"
    }

    /// A `redis:` block in flow style with every setting the loader reads, sentinel form included.
    static func flow(_ redis: RedisSettings) -> String {
        let quoted = ContainerConfig.quoted
        var fields: [String] = []
        if let sentinel = redis.sentinel {
            let nodes = sentinel.nodes.map { node in
                quoted(node.host.contains(":") ? "[\(node.host)]:\(node.port)" : "\(node.host):\(node.port)")
            }
            var inner = ["master: \(quoted(sentinel.master))", "nodes: [\(nodes.joined(separator: ", "))]"]
            if let password = sentinel.password { inner.append("password: \(quoted(password))") }
            fields.append("sentinel: { \(inner.joined(separator: ", ")) }")
        } else {
            fields += ["host: \(quoted(redis.host))", "port: \(redis.port)"]
        }
        fields += ["db: \(redis.db)", "password: \(redis.password.map(quoted) ?? "null")"]
        if redis.connectTimeout != .seconds(2) {
            fields.append("connect_timeout: \(DurationText.format(redis.connectTimeout))")
        }
        if let wait = redis.wait {
            fields.append("wait: { replicas: \(wait.replicas), timeout: \(DurationText.format(wait.timeout)) }")
        }
        return "{ " + fields.joined(separator: ", ") + " }"
    }

    /// Workers share their pod with the listener and move between pods, so each pod asks for the
    /// listener and its share of the workers, and may grow to every worker: when all other pods
    /// are gone, the last one owns every app. Megabytes and millicores, as in the one-machine pod.
    func resources(apps: Int) -> [String: Any] {
        let share = (apps + replicas - 1) / replicas
        return [
            "cpuRequest": "\(250 + 100 * share)m", "memoryRequest": "\(256 + 128 * share)Mi",
            "memoryLimit": "\(1024 + 512 * apps)Mi", "share": share,
        ]
    }
}
