import Foundation

/// The typed, validated form of `apps.d/<app>.yaml` (DESIGN section 3 and the command-driver keys
/// of section 8). Built only by `ConfigLoader`, so every value here has passed validation.
public struct AppConfig: Sendable, Equatable {
    public var app: String
    public var redis: RedisSettings
    public var replicas: Replicas
    public var variants: [Variant]
    public var hosts: [HostConfig]
    public var scheduling: Scheduling
    public var brackets: Brackets
    public var lists: Lists
    /// Directory of `<app>.sock`; `--run-dir` overrides it. Relative paths are resolved against
    /// the directory of the config file.
    public var runDir: String
    /// How many driver actions (create, clean, remove) may run at once for this app.
    public var maxParallelActions: Int
    /// Period of the online check (driver list vs Redis); zero turns it off.
    public var reconcileEvery: Duration
    /// The uid whose connections may deliver frames on the app socket (checked with SO_PEERCRED);
    /// nil means the worker's own uid. Status, executors and ping stay open to any peer the 0660
    /// socket lets in.
    public var listenerUID: UInt32?
    /// `worker_uid`: the uid the listener requires of the process listening on the app's socket
    /// (SO_PEERCRED), so another app's worker, on the same run_dir, cannot stand in for this one.
    public var workerUID: UInt32?
    /// Where the worker keeps the evidence of executors that went dirty (issue 19 item 5).
    public var forensics: ForensicsSettings
    /// Where every event of the app's stream is also sent (issue 18 item 2); nil: nowhere.
    public var logExport: LogExportSettings?
    /// The file this config was read from, for error messages at run time.
    public var sourceFile: String

    public init(
        app: String, redis: RedisSettings, replicas: Replicas, variants: [Variant], hosts: [HostConfig],
        scheduling: Scheduling, brackets: Brackets = .init(), lists: Lists = .init(), runDir: String = "./run",
        maxParallelActions: Int = 4, reconcileEvery: Duration = .seconds(30), listenerUID: UInt32? = nil,
        workerUID: UInt32? = nil,
        forensics: ForensicsSettings = .init(), logExport: LogExportSettings? = nil, sourceFile: String = "<memory>"
    ) {
        self.app = app
        self.redis = redis
        self.replicas = replicas
        self.variants = variants
        self.hosts = hosts
        self.scheduling = scheduling
        self.brackets = brackets
        self.lists = lists
        self.runDir = runDir
        self.maxParallelActions = maxParallelActions
        self.reconcileEvery = reconcileEvery
        self.listenerUID = listenerUID
        self.workerUID = workerUID
        self.forensics = forensics
        self.logExport = logExport
        self.sourceFile = sourceFile
    }

    /// `forensics.dir`, else `<run_dir>/forensics`: derived when asked, so a `--run-dir` given to
    /// the worker moves the default with it.
    public var forensicsDir: String {
        forensics.dir ?? URL(fileURLWithPath: runDir).appendingPathComponent("forensics").path
    }
}

/// `forensics: { dir, export, timeout }`.
public struct ForensicsSettings: Sendable, Equatable {
    /// nil: `<run_dir>/forensics` (see `AppConfig.forensicsDir`).
    public var dir: String?
    /// Also keep a tar of the container's whole filesystem (docker driver); off by default, as it
    /// is the size of the image and more.
    public var export: Bool
    /// The longest one capture may take; the executor's clean waits at most this long for it.
    public var timeout: Duration

    public init(dir: String? = nil, export: Bool = false, timeout: Duration = .seconds(120)) {
        self.dir = dir
        self.export = export
        self.timeout = timeout
    }
}

public struct RedisSettings: Sendable, Equatable {
    /// The fixed server; unused when `sentinel` is set.
    public var host: String
    public var port: Int
    public var db: Int
    public var password: String?
    public var connectTimeout: Duration
    /// Find the master through these sentinels instead of `host`/`port`.
    public var sentinel: SentinelSettings?
    /// Wait for replicas after every commit; nil acknowledges what the master has.
    public var wait: ReplicaWait?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, db: Int = 0, password: String? = nil,
        connectTimeout: Duration = .seconds(2), sentinel: SentinelSettings? = nil, wait: ReplicaWait? = nil
    ) {
        self.host = host
        self.port = port
        self.db = db
        self.password = password
        self.connectTimeout = connectTimeout
        self.sentinel = sentinel
        self.wait = wait
    }

    /// Which Redis this is, for messages and for telling two apps' servers apart: `host:port`,
    /// or the master's name and its sentinels.
    public var server: String {
        guard let sentinel else { return "\(host):\(port)" }
        return "sentinel master \(sentinel.master) via \(sentinel.nodes.map(\.description).joined(separator: ","))"
    }
}

public struct Replicas: Sendable, Equatable {
    public var online: Int
    public var standby: Int
    public var minOnline: Int
    public var retainDirty: Int
    /// A dirty executor is released to cleaning once it has been kept this long; zero keeps it
    /// until `retain_dirty` overflows or an operator releases it.
    public var dirtyTTL: Duration

    public init(online: Int, standby: Int, minOnline: Int, retainDirty: Int, dirtyTTL: Duration = .zero) {
        self.online = online
        self.standby = standby
        self.minOnline = minOnline
        self.retainDirty = retainDirty
        self.dirtyTTL = dirtyTTL
    }
}

public struct Variant: Sendable, Equatable {
    public var name: String
    /// Heterogeneity traits (os, web, lang, db, ...); selection maximises pairwise distance.
    public var traits: [String: String]
    public var image: String?
    /// Container ports the docker driver publishes (to ports the engine picks); the first one is
    /// the executor's endpoint.
    public var ports: [Int]
    /// Environment for the variant's containers (docker driver); overrides the host's `env`.
    public var env: [String: String]
    /// The container's command (docker driver), replacing the image's; `{port}` in an argument
    /// becomes the port the executor listens on. nil: the image's own command.
    public var command: [String]?

    public init(
        name: String, traits: [String: String], image: String? = nil, ports: [Int] = [],
        env: [String: String] = [:], command: [String]? = nil
    ) {
        self.name = name
        self.traits = traits
        self.image = image
        self.ports = ports
        self.env = env
        self.command = command
    }
}

public enum DriverKind: String, Sendable, Equatable {
    case docker
    case command
}

/// How the docker driver connects an executor's container to the network.
public enum DockerNetwork: String, Sendable, Equatable {
    /// The engine's default network; the variant's ports are published to ports the engine picks
    /// (several hosts, each reached on its own address).
    case bridge
    /// The host's network stack; the driver gives each container a port of the host's `ports`
    /// range, passed as `PORT` and `{port}` (one host, or no bridge/NAT on the hosts).
    case host
}

public struct HostConfig: Sendable, Equatable {
    public var name: String
    public var address: String
    public var driver: DriverKind
    /// `tcp://host:port` or `unix:///path` of the Docker Engine API (driver: docker).
    public var docker: String?
    /// Hooks (driver: command).
    public var command: CommandHooks?
    public var probe: Probe?
    /// Environment for every container on this host (docker driver).
    public var env: [String: String]
    /// Longest one Docker Engine API call may take (driver: docker); command hooks have
    /// `command.timeout` instead.
    public var dockerTimeout: Duration
    /// Driver: docker only.
    public var dockerNetwork: DockerNetwork
    /// The ports executors of this host listen on with `docker_network: host`, one each.
    public var ports: ClosedRange<Int>?
    /// Driver: docker only. How long a create or clean waits, after the container started, for
    /// its endpoint to accept a TCP connection; zero: not at all.
    public var readyTimeout: Duration

    public init(
        name: String, address: String, driver: DriverKind, docker: String? = nil,
        command: CommandHooks? = nil, probe: Probe? = nil, env: [String: String] = [:],
        dockerTimeout: Duration = .seconds(60), dockerNetwork: DockerNetwork = .bridge,
        ports: ClosedRange<Int>? = nil, readyTimeout: Duration = HostConfig.defaultReadyTimeout
    ) {
        self.name = name
        self.address = address
        self.driver = driver
        self.docker = docker
        self.command = command
        self.probe = probe
        self.env = env
        self.dockerTimeout = dockerTimeout
        self.dockerNetwork = dockerNetwork
        self.ports = ports
        self.readyTimeout = readyTimeout
    }

    public static let defaultReadyTimeout = Duration.seconds(30)
}

/// Argv templates; placeholders `{app}`, `{executor}`, `{variant}`, `{host}` (and `{dir}` in
/// `inspect`) are substituted per argument, never through a shell.
public struct CommandHooks: Sendable, Equatable {
    public var timeout: Duration
    public var create: [String]
    public var clean: [String]
    public var remove: [String]
    public var list: [String]
    /// Optional: writes evidence of a dirty executor into `{dir}` before it is cleaned.
    public var inspect: [String]?

    public init(
        timeout: Duration = .seconds(30), create: [String], clean: [String], remove: [String], list: [String],
        inspect: [String]? = nil
    ) {
        self.timeout = timeout
        self.create = create
        self.clean = clean
        self.remove = remove
        self.list = list
        self.inspect = inspect
    }
}

public struct Probe: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        case http(String)
        case tcp(host: String, port: Int)
    }
    public var target: Target
    public var interval: Duration
    public var fall: Int
    public var rise: Int

    public init(target: Target, interval: Duration = .seconds(1), fall: Int = 3, rise: Int = 2) {
        self.target = target
        self.interval = interval
        self.fall = fall
        self.rise = rise
    }
}

public enum SelectionStrategy: String, Sendable, Equatable, CaseIterable {
    case heterogeneity
    case random
    case roundRobin = "round_robin"
}

public struct Scheduling: Sendable, Equatable {
    public var strategy: SelectionStrategy
    /// Timed rotation period; zero turns it off.
    public var rotateEvery: Duration
    public var abnormalDissents: Int
    public var abnormalWindow: Duration
    /// Fixed RNG seed, for tests and reproducible demos only.
    public var seed: UInt64?
    /// `degraded` health reports inside the abnormal window that make an executor abnormal; 0 = never.
    public var abnormalDegraded: Int
    /// Medium or low WAF/firewall alerts inside the abnormal window that make an executor
    /// abnormal; 0 = never (they are only recorded).
    public var abnormalLowSeverity: Int
    /// Each rotation period is drawn uniformly from `rotate_every × (1 ± rotate_jitter)`, so an
    /// attacker watching the fleet cannot learn when the next rotation comes.
    public var rotateJitter: Double
    /// Each online executor's time online is drawn on its own when it goes online (mean
    /// `online × rotate_every`, exponential) instead of one clock rotating the longest-online:
    /// how long an executor has been online then says nothing about when it is rotated.
    public var rotatePerExecutor: Bool
    public var feedback: Feedback
    /// The self-learning negative feedback (issue 16 item 3); on by default, as the attack
    /// simulation measured it shortening dwell time without more false ejections.
    public var learning: Learning

    public init(
        strategy: SelectionStrategy = .heterogeneity, rotateEvery: Duration = .seconds(600),
        abnormalDissents: Int = 3, abnormalWindow: Duration = .seconds(60), seed: UInt64? = nil,
        abnormalDegraded: Int = 3, abnormalLowSeverity: Int = 5, rotateJitter: Double = 0.2,
        feedback: Feedback = .init(), rotatePerExecutor: Bool = false, learning: Learning = .init()
    ) {
        self.strategy = strategy
        self.rotateEvery = rotateEvery
        self.abnormalDissents = abnormalDissents
        self.abnormalWindow = abnormalWindow
        self.seed = seed
        self.abnormalDegraded = abnormalDegraded
        self.abnormalLowSeverity = abnormalLowSeverity
        self.rotateJitter = rotateJitter
        self.feedback = feedback
        self.rotatePerExecutor = rotatePerExecutor
        self.learning = learning
    }
}

/// Self-learning negative feedback (issue 16 item 3): evidence from the arbitration log that
/// outlives `abnormal.window`, fading with `half_life`. It learns a trust per variant and per
/// (variant, URL pattern) and a reputation per URL pattern, and acts on both brackets: distrusted
/// patterns go to the blacklist, trust goes into the published weights, and a variant that is
/// distrusted on a pattern is ejected at its next dissent there and kept in standby meanwhile.
public struct Learning: Sendable, Equatable {
    public var enabled: Bool
    /// Evidence loses half its weight in this time: how long the scheduler remembers an attack.
    public var halfLife: Duration
    /// A dissent on a URL pattern on which its variant's learned trust is below this ejects the
    /// dissenter, however spread out in time the dissents were; 0 = the learned trust never ejects.
    public var ejectBelow: Double
    /// URL patterns remembered at most; the least recently seen are forgotten first.
    public var maxPatterns: Int

    public init(
        enabled: Bool = true, halfLife: Duration = .seconds(600), ejectBelow: Double = 0.25, maxPatterns: Int = 256
    ) {
        self.enabled = enabled
        self.halfLife = halfLife
        self.ejectBelow = ejectBelow
        self.maxPatterns = maxPatterns
    }
}

/// Arbitration-log negative feedback (DESIGN section 7): when the evidence points at a request
/// rather than at the executors, the URL is suspected and blacklisted. Only an arbitration without
/// a majority spares the executors; a dissent against a majority always counts (issue 16).
public struct Feedback: Sendable, Equatable {
    /// Put suspected URLs on the blacklist (published to the left bracket); when false they are
    /// only recorded as events.
    public var blacklistSuspects: Bool
    /// How long a suspected URL stays on the blacklist.
    public var suspectTTL: Duration
    /// Executors of this many different variants failing on one URL at once (each variant's
    /// dissent standing until one of its executors agrees on the URL) inside the abnormal window
    /// make the URL suspect.
    public var variants: Int

    public init(blacklistSuspects: Bool = true, suspectTTL: Duration = .seconds(3600), variants: Int = 2) {
        self.blacklistSuspects = blacklistSuspects
        self.suspectTTL = suspectTTL
        self.variants = variants
    }
}

public struct Brackets: Sendable, Equatable {
    public var webhook: String?
    public init(webhook: String? = nil) { self.webhook = webhook }
}

public struct Lists: Sendable, Equatable {
    public var blacklist: [String]
    public var whitelist: [String]
    public init(blacklist: [String] = [], whitelist: [String] = []) {
        self.blacklist = blacklist
        self.whitelist = whitelist
    }
}
