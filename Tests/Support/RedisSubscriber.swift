import NIOPosix
import Shared
import Synchronization

/// A pub/sub subscription on its own connection and its own owner thread (a subscribed
/// connection can run nothing else). Messages arrive in order on `messages`. Test support: the
/// tests watch what the worker publishes to the brackets with it; the product itself only publishes.
///
/// The thread waits for messages in short intervals so it notices a stop request: closing the
/// subscriber, or the consumer's task ending or being cancelled. After `keepAlive` without
/// traffic it sends PING, so a stopped or unreachable server is noticed too. A lost connection
/// or an unanswered PING finishes `messages` with the error; subscribe again to resume (messages
/// published meanwhile are lost, as with any Redis pub/sub).
public final class RedisSubscriber: Sendable {
    public let messages: AsyncThrowingStream<RedisMessage, any Error>
    private let owner: NIOThreadPool
    private let stop: StopSignal

    /// Connects, subscribes, and returns once Redis has confirmed every channel and pattern, so
    /// anything published after this returns is delivered.
    public static func subscribe(
        settings: RedisSettings, channels: [String], patterns: [String] = [],
        pollInterval: Duration = .milliseconds(100), keepAlive: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(2)
    ) async throws -> RedisSubscriber {
        precondition(!channels.isEmpty || !patterns.isEmpty, "subscribe to at least one channel or pattern")
        let owner = NIOThreadPool(numberOfThreads: 1)
        owner.start()
        let stop = StopSignal()
        let (messages, sink) = AsyncThrowingStream.makeStream(of: RedisMessage.self)
        sink.onTermination = { _ in stop.request() }
        do {
            try await withCheckedThrowingContinuation { (subscribed: CheckedContinuation<Void, any Error>) in
                owner.submit { state in
                    guard case .active = state else {
                        subscribed.resume(throwing: RedisError.closed)
                        return
                    }
                    let connection: RedisConnection
                    do {
                        connection = try RedisConnection(settings: settings, commandTimeout: commandTimeout)
                        try confirm(channels: channels, patterns: patterns, on: connection, within: commandTimeout)
                    } catch {
                        subscribed.resume(throwing: error)
                        return
                    }
                    subscribed.resume()
                    deliver(
                        from: connection, to: sink, pollInterval: pollInterval, keepAlive: keepAlive,
                        until: stop)
                }
            }
        } catch {
            sink.finish(throwing: error)
            try? await owner.shutdownGracefully()
            throw error
        }
        return RedisSubscriber(messages: messages, owner: owner, stop: stop)
    }

    private init(messages: AsyncThrowingStream<RedisMessage, any Error>, owner: NIOThreadPool, stop: StopSignal) {
        self.messages = messages
        self.owner = owner
        self.stop = stop
    }

    deinit {
        stop.request()
        owner.shutdownGracefully { _ in }
    }

    /// Unsubscribes by closing the connection, finishes `messages`, and stops the thread.
    public func close() async {
        stop.request()
        try? await owner.shutdownGracefully()
    }

    private static func confirm(
        channels: [String], patterns: [String], on connection: RedisConnection,
        within timeout: Duration
    ) throws {
        var commands: [[String]] = []
        if !channels.isEmpty { commands.append(["SUBSCRIBE"] + channels) }
        if !patterns.isEmpty { commands.append(["PSUBSCRIBE"] + patterns) }
        try connection.send(commands)
        var pending = channels.count + patterns.count
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while pending > 0 {
            guard clock.now < deadline else {
                throw RedisError.timeout(endpoint: connection.endpoint, after: timeout)
            }
            guard let reply = try connection.nextPushedReply(within: .milliseconds(50)) else { continue }
            if let message = reply.errorMessage { throw RedisError.server(message: message) }
            if let kind = reply.array?.first?.string, kind == "subscribe" || kind == "psubscribe" {
                pending -= 1
            }
        }
    }

    private static func deliver(
        from connection: RedisConnection,
        to sink: AsyncThrowingStream<RedisMessage, any Error>.Continuation,
        pollInterval: Duration, keepAlive: Duration, until stop: StopSignal
    ) {
        let clock = ContinuousClock()
        var lastTraffic = clock.now
        var pingSent: ContinuousClock.Instant?
        while !stop.isRequested {
            do {
                if let reply = try connection.nextPushedReply(within: pollInterval) {
                    lastTraffic = clock.now
                    pingSent = nil
                    if let message = RedisMessage(pushed: reply) { sink.yield(message) }
                } else if let sent = pingSent {
                    if clock.now - sent > connection.commandTimeout {
                        throw RedisError.timeout(endpoint: connection.endpoint, after: connection.commandTimeout)
                    }
                } else if clock.now - lastTraffic > keepAlive {
                    try connection.send([["PING"]])
                    pingSent = clock.now
                }
            } catch {
                sink.finish(throwing: error)
                return
            }
        }
        sink.finish()
    }
}

private final class StopSignal: Sendable {
    private let flag = Atomic(false)

    func request() { flag.store(true, ordering: .releasing) }

    var isRequested: Bool { flag.load(ordering: .acquiring) }
}
