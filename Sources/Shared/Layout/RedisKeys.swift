/// The Redis layout of DESIGN section 6: every key of an app lives in the app's own DB index and
/// starts with `mimic:{app}:`.
public struct RedisKeys: Sendable, Equatable {
    public let app: String
    private let prefix: String

    public init(app: String) {
        self.app = app
        self.prefix = "mimic:\(app):"
    }

    public func executor(_ id: String) -> String { prefix + "exec:" + id }
    public func state(_ state: ExecutorState) -> String { prefix + "state:" + state.rawValue }
    public func host(_ name: String) -> String { prefix + "host:" + name }
    public var events: String { prefix + "events" }
    public func list(_ name: String) -> String { prefix + "list:" + name }
    /// Sorted set beside each list: member = URL pattern, score = expiry in unix ms (entries
    /// added with a TTL only).
    public func listExpiry(_ name: String) -> String { prefix + "list:" + name + ":expiry" }
    public var applied: String { prefix + "applied" }
    public var onlineView: String { prefix + "online:view" }
    public var onlineChannel: String { prefix + "online" }
    public var listsChannel: String { prefix + "lists" }
    /// Not in the original layout: next executor number, online-set version, pause flag and the
    /// commit counter that makes a retried transaction detectable.
    public var meta: String { prefix + "meta" }
    /// The policy memory (DESIGN section 10): JSON, committed with the effects it led to.
    public var policy: String { prefix + "policy" }
    /// Frames the worker died on three times in a row, with their envelope (DESIGN section 10).
    public var deadLetters: String { prefix + "deadletter" }
    /// Where the syslog exporter stands in `events` (issue 18 item 2): last sent id, its ordinal,
    /// events dropped.
    public var syslogCursor: String { prefix + "export:syslog" }
}
