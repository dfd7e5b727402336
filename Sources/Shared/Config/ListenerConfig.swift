import Foundation

/// The typed, validated form of `listener.yaml` (DESIGN section 3).
public struct ListenerConfig: Sendable, Equatable {
    public struct Bind: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// TLS on this door (`tls:` under `http`, `tcp` or `admin`); nil serves plain text.
        public var tls: TLS?
        public init(host: String, port: Int, tls: TLS? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }

        /// Loopback only: the admin door's reads are open there without a token (DESIGN section 4).
        public var isLoopback: Bool {
            host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
        }
    }

    /// PEM files of a door's TLS: the server's certificate chain and key, and, when client
    /// certificates are required, the CA bundle they must chain to.
    public struct TLS: Sendable, Equatable {
        public var certificate: String
        public var key: String
        public var clientCA: String?
        public init(certificate: String, key: String, clientCA: String? = nil) {
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
        }
    }

    public enum FsyncPolicy: String, Sendable, Equatable {
        case always
        case batch
        case none
    }

    public struct Token: Sendable, Equatable {
        public var name: String
        /// The plaintext secret; empty when the config gives only `token_sha256`.
        public var token: String
        /// SHA-256 of the secret (`token_sha256:` in listener.yaml), so the config file alone does not
        /// hand out the token. Exactly one of `token` and `tokenSHA256` is set.
        public var tokenSHA256: [UInt8]?
        /// Sources this token may send as; `*` allows all.
        public var sources: [String]
        /// Apps this token may address; `*` allows all.
        public var apps: [String]
        public init(name: String, token: String, tokenSHA256: [UInt8]? = nil, sources: [String], apps: [String]) {
            self.name = name
            self.token = token
            self.tokenSHA256 = tokenSHA256
            self.sources = sources
            self.apps = apps
        }
    }

    public struct Supervise: Sendable, Equatable {
        public var enabled: Bool
        /// Path or name (looked up in PATH) of the worker executable.
        public var worker: String
        public init(enabled: Bool = false, worker: String = "mimic-worker") {
            self.enabled = enabled
            self.worker = worker
        }
    }

    /// `cluster:` (DESIGN section 11): several listener instances share the apps. Journals are
    /// Redis streams in each app's DB, and each app is owned by one instance through a lease in
    /// this Redis; only the owner runs the app's worker.
    public struct Cluster: Sendable, Equatable {
        public var redis: RedisSettings
        /// How long an owner that stops renewing keeps its apps; survivors take them after it.
        public var lease: Duration
        public static let leaseRange: ClosedRange<Duration> = .seconds(1) ... .seconds(60)
        public init(redis: RedisSettings, lease: Duration = .seconds(3)) {
            self.redis = redis
            self.lease = lease
        }
    }

    /// `instance`: this listener's name among the cluster's instances (default: the host name).
    public var instance: String = ListenerConfig.defaultInstance
    public var cluster: Cluster?

    /// The host name, which is unique per pod in a StatefulSet and per machine elsewhere.
    public static var defaultInstance: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Letters, digits, `.`, `_` and `-`, at most 253 bytes: a host or pod name fits, and the name
    /// is safe in a lease value, a metric label and a log line.
    public static func isValidInstance(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 253
            && name.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2D || byte == 0x2E || byte == 0x5F
            }
    }

    public var http: Bind
    public var tcp: Bind
    /// The admin door: status API, page, worker control and metrics, never on the ingress port.
    public var admin: Bind
    /// Paths below are resolved against the directory of the config file when relative.
    public var appsDir: String
    public var runDir: String
    public var journalDir: String
    public var fsync: FsyncPolicy
    public var maxMessageBytes: Int
    /// The most `max_message_bytes` may be: a message, framed for the worker (with `epoch`, `seq`,
    /// and an `app` the listener may add), must fit the worker's line limit (4 MiB,
    /// `AppSocketServer.maxLineBytes`) and a journal record (64 MiB); a quarter of the smaller
    /// leaves room for all of it.
    public static let maxMessageBytesLimit = 1 << 20
    public var maxBacklogBytes: Int
    /// `journal_retain`: how long acknowledged records stay in the journal (by accept time), so a
    /// worker whose Redis lost writes gets them again (DESIGN section 10).
    public var journalRetain: Duration
    /// The longest `journal_retain` may be (30 days): enough for any Redis restore worth replaying.
    public static let journalRetainLimit: Duration = .seconds(30 * 24 * 3600)
    /// `journal_retain_bytes`: per app, the most bytes of acknowledged records kept for that.
    public var journalRetainBytes: Int
    public var tokens: [Token]
    /// A token's `sources` entry that opens the admin door's reads (it is no message source).
    public static let readScope = "read"
    public var supervise: Supervise
    public var sourceFile: String
    /// `trend_interval`: how often the listener samples each app for the page's trend charts
    /// (accepted and applied counts, the worker's decision latency); it keeps 15 minutes of them.
    public var trendInterval: Duration = .seconds(5)
    public static let trendIntervalRange: ClosedRange<Duration> = .seconds(1) ... .seconds(60)

    public init(
        http: Bind = .init(host: "127.0.0.1", port: 7600), tcp: Bind = .init(host: "127.0.0.1", port: 7601),
        admin: Bind = .init(host: "127.0.0.1", port: 7602),
        appsDir: String = "./apps.d", runDir: String = "./run", journalDir: String = "./journal",
        fsync: FsyncPolicy = .batch, maxMessageBytes: Int = 65536, maxBacklogBytes: Int = 1 << 30,
        journalRetain: Duration = .seconds(900), journalRetainBytes: Int = 1 << 30,
        tokens: [Token] = [], supervise: Supervise = .init(), sourceFile: String = "<memory>"
    ) {
        self.journalRetain = journalRetain
        self.journalRetainBytes = journalRetainBytes
        self.http = http
        self.tcp = tcp
        self.admin = admin
        self.appsDir = appsDir
        self.runDir = runDir
        self.journalDir = journalDir
        self.fsync = fsync
        self.maxMessageBytes = maxMessageBytes
        self.maxBacklogBytes = maxBacklogBytes
        self.tokens = tokens
        self.supervise = supervise
        self.sourceFile = sourceFile
    }
}
