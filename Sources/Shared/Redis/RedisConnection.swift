import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One blocking hiredis connection. Not Sendable: a connection belongs to the one thread that
/// uses it (see `RedisClient`, which confines it to its owner thread).
///
/// After any I/O error hiredis leaves the context unusable, so the connection marks itself
/// broken and every later call throws; the owner drops it and connects again.
public final class RedisConnection {
    public let settings: RedisSettings
    public let commandTimeout: Duration
    public private(set) var isBroken = false
    private let context: UnsafeMutablePointer<redisContext>

    /// The address this connection went to: `redis.host:port`, or the master the sentinels named.
    public let endpoint: String

    /// Connects, sets the command timeout, authenticates when a password is set, and selects
    /// `settings.db`. With `settings.sentinel`, asks the sentinels (through `sentinels`, which
    /// remembers which one answered) for the master and confirms with `ROLE` that it is one: a
    /// sentinel can name a master that a failover has just demoted.
    public init(
        settings: RedisSettings, commandTimeout: Duration = .seconds(2), sentinels: SentinelDirectory? = nil
    ) throws {
        precondition(commandTimeout > .zero, "a zero command timeout would let a stopped Redis block forever")
        Self.ignoreBrokenPipes
        self.settings = settings
        self.commandTimeout = commandTimeout
        var address = SentinelSettings.Node(host: settings.host, port: settings.port)
        if let sentinel = settings.sentinel {
            let directory = sentinels ?? SentinelDirectory(sentinel, connectTimeout: settings.connectTimeout)
            address = try directory.masterAddress()
        }
        endpoint = address.description
        guard
            let context = redisConnectWithTimeout(
                address.host, Int32(address.port),
                settings.connectTimeout.timeval)
        else {
            throw RedisError.connectionFailed(
                endpoint: address.description,
                reason: "out of memory allocating the hiredis context")
        }
        self.context = context
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            let timedOut = errno == ETIMEDOUT
            isBroken = true
            throw timedOut
                ? RedisError.connectionFailed(
                    endpoint: endpoint, reason: "connect timed out after \(settings.connectTimeout)")
                : RedisError.connectionFailed(endpoint: endpoint, reason: reason)
        }
        CloseOnExec.mark(context.pointee.fd)
        // Without a socket timeout a stopped (SIGSTOP) or wedged server blocks the owner thread forever.
        guard redisSetTimeout(context, commandTimeout.timeval) == REDIS_OK else {
            throw failure()
        }
        if let password = settings.password {
            do {
                try command(["AUTH", password])
            } catch RedisError.server(let message) {
                throw RedisError.authenticationFailed(endpoint: endpoint, message: message)
            }
        }
        if settings.db != 0 {
            try command(["SELECT", String(settings.db)])
        }
        if settings.sentinel != nil {
            let role = try command(["ROLE"]).array?.first?.string ?? "server that does not answer ROLE"
            guard role == "master" else {
                isBroken = true
                throw RedisError.notMaster(endpoint: endpoint, role: role)
            }
        }
    }

    deinit {
        redisFree(context)
    }

    /// Runs one command; an error reply throws `RedisError.server`.
    @discardableResult
    public func command(_ arguments: [String]) throws -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Runs one command with binary arguments; an error reply throws `RedisError.server`.
    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws -> RedisReply {
        try ensureUsable()
        let raw = Self.withArgv(arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw failure() }
        defer { freeReplyObject(raw) }
        let reply = RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
        if case .error(let message) = reply {
            noteDemotion(message)
            throw RedisError.server(message: message)
        }
        return reply
    }

    /// Sends all commands in one write, then reads all replies, in order. Error replies are
    /// returned in place (as `.error`), not thrown, so one failing command does not hide the
    /// others' results.
    public func pipeline(_ commands: [[String]]) throws -> [RedisReply] {
        try pipeline(bytes: commands.map { $0.map { Array($0.utf8) } })
    }

    /// `pipeline` with binary arguments.
    public func pipeline(bytes commands: [[[UInt8]]]) throws -> [RedisReply] {
        try ensureUsable()
        for command in commands {
            try append(command)
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            let reply = try readReply()
            if let message = reply.errorMessage { noteDemotion(message) }
            replies.append(reply)
        }
        return replies
    }

    /// A master that a failover demoted answers writes with `-READONLY`: the connection is then
    /// useless for writing, so it counts as broken and the owner's next call finds the new master.
    private func noteDemotion(_ message: String) {
        if message.hasPrefix("READONLY") { isBroken = true }
    }

    /// MULTI, the commands and EXEC in one round trip; returns EXEC's replies.
    public func transaction(_ commands: [[String]]) throws -> [RedisReply] {
        let replies = try pipeline([["MULTI"]] + commands + [["EXEC"]])
        if let message = replies[0].errorMessage {
            throw RedisError.server(message: message)
        }
        for (index, queued) in replies[1..<commands.count + 1].enumerated() {
            if let message = queued.errorMessage {
                throw RedisError.transactionFailed(command: index, message: message, othersApplied: false)
            }
        }
        switch replies[commands.count + 1] {
        case .null:
            throw RedisError.transactionAborted
        case .error(let message):
            throw RedisError.server(message: message)
        case .array(let results):
            if let failed = results.firstIndex(where: { $0.errorMessage != nil }) {
                throw RedisError.transactionFailed(
                    command: failed, message: results[failed].errorMessage ?? "",
                    othersApplied: true)
            }
            return results
        case let other:
            throw RedisError.unexpectedReply("EXEC answered \(other)")
        }
    }

    /// Queues commands and writes them out without waiting for replies (SUBSCRIBE, whose
    /// confirmations arrive as pushed messages).
    package func send(_ commands: [[String]]) throws {
        try ensureUsable()
        for command in commands {
            try append(command.map { Array($0.utf8) })
        }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw failure() }
        }
    }

    /// The next reply the server pushed (pub/sub), or nil when none arrived within `wait`.
    /// Waiting with poll(2) rather than the socket timeout keeps the connection usable after an
    /// idle interval: a hiredis read timeout breaks the context.
    package func nextPushedReply(within wait: Duration) throws -> RedisReply? {
        try ensureUsable()
        if let reply = try bufferedReply() { return reply }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, wait.wholeMilliseconds)
        if ready < 0 {
            if errno == EINTR { return nil }
            isBroken = true
            throw RedisError.connectionLost(endpoint: endpoint, reason: String(cString: strerror(errno)))
        }
        if ready == 0 { return nil }
        guard redisBufferRead(context) == REDIS_OK else { throw failure() }
        return try bufferedReply()
    }

    private func bufferedReply() throws -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw failure() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    private func append(_ arguments: [[UInt8]]) throws {
        let status = Self.withArgv(arguments) { argc, argv, lengths in
            redisAppendCommandArgv(context, argc, argv, lengths)
        }
        guard status == REDIS_OK else { throw failure() }
    }

    private func readReply() throws -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure() }
        defer { freeReplyObject(raw) }
        return RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    private func ensureUsable() throws {
        if isBroken {
            throw RedisError.connectionLost(endpoint: endpoint, reason: "connection already failed; open a new one")
        }
    }

    /// Classifies the context's error after a failed call; must run before any other libc call
    /// so that `errno` still belongs to hiredis' failed read or write.
    private func failure() -> RedisError {
        let code = errno
        isBroken = true
        let error = context.pointee.err
        if error == REDIS_ERR_IO && (code == EAGAIN || code == EWOULDBLOCK) {
            return .timeout(endpoint: endpoint, after: commandTimeout)
        }
        if error == REDIS_ERR_PROTOCOL {
            return .unexpectedReply("protocol error from \(endpoint): \(Self.errorText(context))")
        }
        if error == 0 {
            return .connectionLost(
                endpoint: endpoint, reason: "hiredis reported failure without an error (out of memory?)")
        }
        return .connectionLost(endpoint: endpoint, reason: Self.errorText(context))
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: &context.pointee.errstr) { buffer in
            let bytes = buffer.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Calls `body` with hiredis' argv form: pointers into one buffer plus explicit lengths, so
    /// arguments may contain NUL bytes and newlines.
    private static func withArgv<Result>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        // Redis answers nothing to an empty command, so the caller would wait for the timeout.
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        var flat: [UInt8] = []
        var offsets: [Int] = []
        var lengths: [Int] = []
        offsets.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(flat.count)
            lengths.append(argument.count)
            flat.append(contentsOf: argument)
        }
        // A trailing byte keeps the base address non-nil when every argument is empty.
        flat.append(0)
        return flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { lengths in
                    body(Int32(arguments.count), argv.baseAddress!, lengths.baseAddress!)
                }
            }
        }
    }

    /// hiredis writes with write(2); on a connection the server reset, that raises SIGPIPE, whose
    /// default action kills the whole process. Ignoring it turns the event into an EPIPE error.
    private static let ignoreBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()
}

extension Duration {
    fileprivate var timeval: timeval {
        let parts = components
        return CHiredis.timeval(tv_sec: Int(parts.seconds), tv_usec: Int(parts.attoseconds / 1_000_000_000_000))
    }

    fileprivate var wholeMilliseconds: Int32 {
        let parts = components
        return Int32(clamping: parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
    }
}
